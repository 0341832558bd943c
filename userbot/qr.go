package userbot

import (
	"fmt"
	"io"
	"strings"

	"rsc.io/qr"
)

// DrawQR writes a QR code of text to w with half-block characters, two
// module rows per line, with a quiet zone: light modules are drawn, dark
// ones left blank, so that it reads right on a terminal with light text on
// a dark background.
func DrawQR(w io.Writer, text string) error {
	code, err := qr.Encode(text, qr.L)
	if err != nil {
		return fmt.Errorf("encode QR code: %w", err)
	}
	const quiet = 2
	n := code.Size
	dark := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		return x >= 0 && y >= 0 && x < n && y < n && code.Black(x, y)
	}
	var b strings.Builder
	for y := 0; y < n+2*quiet; y += 2 {
		for x := 0; x < n+2*quiet; x++ {
			top, bottom := !dark(x, y), !dark(x, y+1) && y+1 < n+2*quiet
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}
