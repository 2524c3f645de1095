package hj212

// crcTable is the reflected-0xA001 (CRC-16/ARC) table. HJ 212 discards the
// register's low byte before mixing in each byte (reg = reg>>8 ^ b, then eight
// shift/XOR steps), so one step of the standard's bit loop is exactly
// reg = crcTable[reg>>8 ^ b]: a table lookup per byte instead of eight shifts.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		reg := uint16(i)
		for range 8 {
			if reg&1 == 1 {
				reg = reg>>1 ^ 0xA001
			} else {
				reg >>= 1
			}
		}
		t[i] = reg
	}
	return t
}()

// CRC returns the HJ 212 checksum of a data segment (HJ 212-2017 Appendix A,
// unchanged in HJ 212-2025). It covers exactly the data segment: from the
// first character after the 4-digit length to the final "&&" of the CP,
// inclusive. On the wire it is written as 4 hex digits, high byte first.
//
// It is not CRC-16/MODBUS: the register's low byte is dropped, not XORed,
// before each byte, which also means only 256 values are possible.
func CRC(data []byte) uint16 {
	reg := uint16(0xFFFF)
	for _, b := range data {
		reg = crcTable[byte(reg>>8)^b]
	}
	return reg
}

// swappedModbusCRC returns CRC-16/MODBUS of data with its two bytes swapped:
// what some field equipment writes in place of the HJ 212 CRC (standards.md
// §4.9, three frames in a real device log). Modbus puts the low byte first on
// the wire; these devices print the register as if it were big-endian.
func swappedModbusCRC(data []byte) uint16 {
	reg := uint16(0xFFFF)
	for _, b := range data {
		reg = reg>>8 ^ crcTable[byte(reg)^b]
	}
	return reg<<8 | reg>>8
}
