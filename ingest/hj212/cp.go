package hj212

import (
	"fmt"
	"strings"
)

// CP is a frame's data area, the text between "CP=&&" and "&&": items
// separated by ';', each a list of key=value fields separated by ','
// (standards.md §4.6), e.g.
//
//	DataTime=20160801085857;w01001-Rtd=7.1,w01001-Flag=N;w01018-Rtd=2.2,w01018-Flag=N
//
// is three items. The order and the raw text are kept so that a parsed frame
// re-encodes unchanged; an empty item (a trailing ';' some devices send) is a
// nil Item.
type CP []Item

// Item is one ';'-separated element of the CP.
type Item []Field

// Field is one key=value pair. Keys are case-sensitive.
type Field struct {
	Key   string
	Value string
}

// Get returns the value of the first field named key.
func (cp CP) Get(key string) (string, bool) {
	for _, it := range cp {
		for _, f := range it {
			if f.Key == key {
				return f.Value, true
			}
		}
	}
	return "", false
}

// String returns the CP as it appears between "CP=&&" and "&&".
func (cp CP) String() string { return string(cp.appendTo(nil)) }

func (cp CP) appendTo(dst []byte) []byte {
	for i, it := range cp {
		if i > 0 {
			dst = append(dst, ';')
		}
		for j, f := range it {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, f.Key...)
			dst = append(dst, '=')
			dst = append(dst, f.Value...)
		}
	}
	return dst
}

// parseCP splits a CP body. Fields and items share two backing arrays: a
// 4-field item costs no allocation of its own.
func parseCP(body string) (CP, error) {
	if body == "" {
		return nil, nil
	}
	if strings.Contains(body, "&&") {
		return nil, frameErr(ErrSyntax, "CP", "&& inside the CP")
	}
	nItems := strings.Count(body, ";") + 1
	fields := make([]Field, 0, nItems+strings.Count(body, ","))
	cp := make(CP, 0, nItems)
	for item := range strings.SplitSeq(body, ";") {
		if item == "" {
			cp = append(cp, nil)
			continue
		}
		start := len(fields)
		for kv := range strings.SplitSeq(item, ",") {
			key, val, ok := strings.Cut(kv, "=")
			if !ok || !validKey(key) {
				return nil, frameErr(ErrSyntax, "CP", fmt.Sprintf("field %q is not key=value", kv))
			}
			fields = append(fields, Field{key, val})
		}
		cp = append(cp, Item(fields[start:len(fields):len(fields)]))
	}
	return cp, nil
}

// validate checks that the CP encodes to text parseCP reads back the same.
func (cp CP) validate() error {
	for _, it := range cp {
		for _, f := range it {
			if !validKey(f.Key) {
				return frameErr(ErrSyntax, "CP", fmt.Sprintf("key %q", f.Key))
			}
			if strings.ContainsAny(f.Value, ";,") || strings.Contains(f.Value, "&&") {
				return frameErr(ErrSyntax, "CP", fmt.Sprintf("value %q of %s would change the CP's structure", f.Value, f.Key))
			}
			if err := checkText(f.Value); err != nil {
				return frameErr(ErrSyntax, "CP", fmt.Sprintf("value of %s: %s", f.Key, err.(*FrameError).Detail))
			}
		}
	}
	return nil
}
