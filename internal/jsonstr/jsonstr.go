// Package jsonstr appends strings as JSON string literals, for the places
// that write JSON by hand because encoding/json's reflection costs too much
// there (stationsim's payloads, the alert engine's windows file).
package jsonstr

import "unicode/utf8"

// Append appends s to b as a JSON string: quotes, backslashes and control
// characters escaped, other UTF-8 as is, invalid bytes as U+FFFD (as
// encoding/json writes them).
func Append(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r)
		i += size
	}
	return append(b, '"')
}
