package resident

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// Pages reports how many of the pages that hold the n bytes at addr are
// resident, and how many pages that is. addr need not be page-aligned.
func Pages(addr unsafe.Pointer, n uintptr) (in, total int, err error) {
	page := uintptr(os.Getpagesize())
	lo := uintptr(addr) &^ (page - 1)
	hi := uintptr(addr) + n
	vec := make([]byte, (hi-lo+page-1)/page)
	if len(vec) == 0 {
		return 0, 0, nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, lo, hi-lo, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return 0, 0, fmt.Errorf("mincore: %w", errno)
	}
	for _, v := range vec {
		in += int(v & 1)
	}
	return in, len(vec), nil
}
