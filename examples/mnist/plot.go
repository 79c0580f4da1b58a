package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// plotCurves draws the training loss and the test accuracy per epoch side by
// side and writes them as a PNG, atomically.
func plotCurves(path string, p progress) error {
	const w, h = 900, 380
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	panel(img, image.Rect(0, 0, w/2, h), "training loss", p.Loss, color.RGBA{0x1f, 0x77, 0xb4, 0xff}, "%.3f")
	panel(img, image.Rect(w/2, 0, w, h), "test accuracy", p.Accuracy, color.RGBA{0xd6, 0x27, 0x28, 0xff}, "%.4f")

	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = png.Encode(f, img)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func panel(img *image.RGBA, r image.Rectangle, title string, ys []float64, c color.RGBA, yfmt string) {
	const left, right, top, bottom = 70, 20, 30, 40
	plot := image.Rect(r.Min.X+left, r.Min.Y+top, r.Max.X-right, r.Max.Y-bottom)
	text(img, r.Min.X+left, r.Min.Y+18, title, color.Black)
	grey := color.RGBA{0xcc, 0xcc, 0xcc, 0xff}
	// Axes.
	line(img, plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y, color.Black)
	line(img, plot.Min.X, plot.Min.Y, plot.Min.X, plot.Max.Y, color.Black)
	if len(ys) == 0 {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, y := range ys {
		lo, hi = math.Min(lo, y), math.Max(hi, y)
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-0.5*math.Max(math.Abs(lo), 1e-3), hi+0.5*math.Max(math.Abs(hi), 1e-3)
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	n := len(ys)
	xAt := func(i int) int {
		if n == 1 {
			return (plot.Min.X + plot.Max.X) / 2
		}
		return plot.Min.X + i*(plot.Dx()-1)/(n-1)
	}
	yAt := func(v float64) int { return plot.Max.Y - int((v-lo)/(hi-lo)*float64(plot.Dy()-1)) }
	// Horizontal grid with labels.
	for k := 0; k <= 4; k++ {
		v := lo + (hi-lo)*float64(k)/4
		y := yAt(v)
		line(img, plot.Min.X+1, y, plot.Max.X, y, grey)
		text(img, r.Min.X+4, y+4, fmt.Sprintf(yfmt, v), color.Black)
	}
	// Epoch ticks.
	step := max(1, n/10)
	for i := 0; i < n; i += step {
		x := xAt(i)
		line(img, x, plot.Max.Y, x, plot.Max.Y+4, color.Black)
		text(img, x-3, plot.Max.Y+16, fmt.Sprint(i+1), color.Black)
	}
	text(img, (plot.Min.X+plot.Max.X)/2-15, r.Max.Y-6, "epoch", color.Black)
	for i := range ys {
		x, y := xAt(i), yAt(ys[i])
		if i > 0 {
			line(img, xAt(i-1), yAt(ys[i-1]), x, y, c)
		}
		for dx := -2; dx <= 2; dx++ {
			for dy := -2; dy <= 2; dy++ {
				img.Set(x+dx, y+dy, c)
			}
		}
	}
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// line draws with Bresenham's algorithm.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
