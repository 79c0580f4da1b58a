//go:build !purego

package asm

const haveAsm = true
