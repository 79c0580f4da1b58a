//go:build purego || !amd64

package asm

const haveAsm = false
