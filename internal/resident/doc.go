// Package resident counts the pages of a memory range that are in RAM
// (mincore), for tests of what the process keeps resident: the WAL's read
// buffer outside Go's heap, the alert windows' rings. Linux only.
package resident
