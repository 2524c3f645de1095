package wal

import "syscall"

// mapAnon reserves n bytes of private anonymous memory. MAP_NORESERVE: the
// reservation is address space only; pages are backed as reads touch them.
func mapAnon(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
}

// releasePages gives b's pages back to the kernel; they read as zero after.
// b must start on a page boundary.
func releasePages(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return syscall.Madvise(b, syscall.MADV_DONTNEED)
}

func unmap(b []byte) error { return syscall.Munmap(b) }
