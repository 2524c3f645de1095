package hj212

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// crcBitwise is the standard's Appendix A algorithm as standards.md §4.9
// writes it: the reference the table form must match.
func crcBitwise(data []byte) uint16 {
	reg := uint16(0xFFFF)
	for _, b := range data {
		reg = (reg >> 8) ^ uint16(b)
		for range 8 {
			lsb := reg & 1
			reg >>= 1
			if lsb == 1 {
				reg ^= 0xA001
			}
		}
	}
	return reg
}

// modbusBitwise is plain CRC-16/MODBUS.
func modbusBitwise(data []byte) uint16 {
	reg := uint16(0xFFFF)
	for _, b := range data {
		reg ^= uint16(b)
		for range 8 {
			lsb := reg & 1
			reg >>= 1
			if lsb == 1 {
				reg ^= 0xA001
			}
		}
	}
	return reg
}

// TestCRCVectors checks every reference frame's CRC field against the
// computed CRC: TV1–TV10 and the real-device frames match (any case), NEG1
// and the swapped-CRC frames do not.
func TestCRCVectors(t *testing.T) {
	for _, rf := range refFrames(t) {
		t.Run(rf.name, func(t *testing.T) {
			seg, field := rf.frame[6:len(rf.frame)-4], rf.frame[len(rf.frame)-4:]
			got := CRC([]byte(seg))
			want, err := strconv.ParseUint(field, 16, 16)
			if err != nil {
				t.Fatal(err)
			}
			if match := got == uint16(want); match != (rf.expect == "ok") {
				t.Errorf("CRC = %04X, frame has %s, expect %s", got, field, rf.expect)
			}
			if got != crcBitwise([]byte(seg)) {
				t.Errorf("table CRC %04X != bitwise %04X", got, crcBitwise([]byte(seg)))
			}
		})
	}
}

// TestCRCNamedVectors pins the values standards.md §4.9 prints, including
// the negative vector (4981 carried, 4980 correct) and the Appendix A
// example whose explanatory text misprints 1C80 as 1C08.
func TestCRCNamedVectors(t *testing.T) {
	tests := []struct {
		name string
		seg  string
		want uint16
	}{
		{"TV1 appendix A example", "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&", 0x1C80},
		{"TV5 request response", "QN=20231008125115215;ST=22;CN=9011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=1&&", 0xCC01},
		{"NEG1 carries 4981", "ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&", 0x4980},
		{"empty segment", "", 0xFFFF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CRC([]byte(tt.seg)); got != tt.want {
				t.Errorf("CRC = %04X, want %04X", got, tt.want)
			}
		})
	}
}

// TestCRCProperties checks the table form against the bit loop on random
// input, and the property standards.md §4.9 proves: the low byte of every
// CRC of a non-empty segment is one of eight values.
func TestCRCProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lowBytes := map[uint16]bool{0x00: true, 0x01: true, 0x40: true, 0x41: true, 0x80: true, 0x81: true, 0xC0: true, 0xC1: true}
	buf := make([]byte, 0, 64)
	for range 20000 {
		buf = buf[:rng.IntN(64)]
		for i := range buf {
			buf[i] = byte(rng.UintN(256))
		}
		got := CRC(buf)
		if want := crcBitwise(buf); got != want {
			t.Fatalf("CRC(%x) = %04X, bitwise %04X", buf, got, want)
		}
		if len(buf) > 0 && !lowBytes[got&0xFF] {
			t.Fatalf("CRC(%x) = %04X: low byte outside the eight possible", buf, got)
		}
		m := modbusBitwise(buf)
		if got, want := swappedModbusCRC(buf), m<<8|m>>8; got != want {
			t.Fatalf("swappedModbusCRC(%x) = %04X, want %04X", buf, got, want)
		}
	}
}

// TestSwappedModbusVectors: the rx.log frames' CRCs are the Modbus CRCs
// standards.md §4.9 gives (ECA6, 6578) with their bytes swapped.
func TestSwappedModbusVectors(t *testing.T) {
	modbus := map[string]uint16{"RX0868": 0xECA6, "RX1025": 0x6578}
	for _, rf := range loadFrames(t, "testdata/rx-log-frames.tsv") {
		want, ok := modbus[rf.name]
		if !ok {
			continue
		}
		seg := []byte(rf.frame[6 : len(rf.frame)-4])
		if got := modbusBitwise(seg); got != want {
			t.Errorf("%s: Modbus CRC %04X, want %04X", rf.name, got, want)
		}
		if got := hex4(swappedModbusCRC(seg)); !strings.EqualFold(got, rf.frame[len(rf.frame)-4:]) {
			t.Errorf("%s: swapped %s, frame has %s", rf.name, got, rf.frame[len(rf.frame)-4:])
		}
	}
}
