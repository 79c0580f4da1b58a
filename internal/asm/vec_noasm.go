//go:build purego || !amd64

package asm

// Without assembly, Accelerated() is always false and these are never
// called; they exist so that vec.go compiles everywhere.

func addAVX2(dst, a, b []float32)                      { addGo(dst, a, b) }
func subAVX2(dst, a, b []float32)                      { subGo(dst, a, b) }
func mulAVX2(dst, a, b []float32)                      { mulGo(dst, a, b) }
func divAVX2(dst, a, b []float32)                      { divGo(dst, a, b) }
func maxAVX2(dst, a, b []float32)                      { maxGo(dst, a, b) }
func minAVX2(dst, a, b []float32)                      { minGo(dst, a, b) }
func addScalarAVX2(dst, a []float32, s float32)        { addScalarGo(dst, a, s) }
func mulScalarAVX2(dst, a []float32, s float32)        { mulScalarGo(dst, a, s) }
func axpyAVX2(alpha float32, x, y []float32)           { axpyGo(alpha, x, y) }
func reluAVX2(dst, x []float32)                        { reluGo(dst, x) }
func reluGradAVX2(dst, g, x []float32)                 { reluGradGo(dst, g, x) }
func expAVX2(dst, x []float32)                         { expGo(dst, x) }
func logAVX2(dst, x []float32)                         { logGo(dst, x) }
func tanhAVX2(dst, x []float32)                        { tanhGo(dst, x) }
func sigmoidAVX2(dst, x []float32)                     { sigmoidGo(dst, x) }
func geluAVX2(dst, x []float32)                        { geluGo(dst, x) }
func geluGradAVX2(dst, g, x []float32)                 { geluGradGo(dst, g, x) }
func expAVX512(dst, x []float32)                       { expGo(dst, x) }
func geluTanhAVX2(dst, x []float32)                    { geluTanhGo(dst, x) }
func sumAVX2(x []float32) float32                      { return sumGo(x) }
func dotAVX2(a, b []float32) float32                   { return dotGo(a, b) }
func reduceMaxAVX2(x []float32) float32                { return reduceMaxGo(x) }
func shiftSub2AVX2(dst, src []float32, s1, s2 float32) { shiftSub2Go(dst, src, s1, s2) }
func f16ToF32F16C(dst []float32, src []uint16)         { f16ToF32Go(dst, src) }
func f32ToF16F16C(dst []uint16, src []float32)         { f32ToF16Go(dst, src) }
func bf16ToF32AVX2(dst []float32, src []uint16)        { bf16ToF32Go(dst, src) }
func f32ToBF16AVX2(dst []uint16, src []float32)        { f32ToBF16Go(dst, src) }
func expShiftSumNoStoreAVX2(src []float32, shift float32) (float64, int) {
	return expShiftSumGo(nil, src, shift)
}
func expShiftSumAVX2(dst, src []float32, shift float32) (float64, int) {
	return expShiftSumGo(dst, src, shift)
}
func maxPool2x2AVX2(max []float32, at []int64, r0, r1 []float32, pos0, pos1 int32) {
	maxPool2x2Go(max, at, r0, r1, pos0, pos1)
}
func copyRowsAVX2(dst []float32, dstStride int, src []float32, srcStride, rows, width int) {
	copyRowsGo(dst, dstStride, src, srcStride, rows, width)
}
func addRowsAVX2(dst []float32, dstStride int, src []float32, srcStride, rows, width int) {
	addRowsGo(dst, dstStride, src, srcStride, rows, width)
}
