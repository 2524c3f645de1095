// Package decode turns JSON payloads (DESIGN.md "JSON payload") into
// readings, or into rejections that say why. It is pure: no I/O, no registry.
// What the station may send (its kind, bounds, time window) is checked later
// by package station.
//
// A Decoder reuses its buffers: the readings it returns are valid until its
// next call. One Decoder per goroutine.
package decode
