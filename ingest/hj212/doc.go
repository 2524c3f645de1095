// Package hj212 is envpipe's codec for HJ 212, the protocol Chinese
// environmental monitoring equipment speaks (HJ 212-2017, and HJ 212-2025
// from 2026-01-01, which keeps the framing and the CRC). It is pure: no
// sockets, no clocks, no logging; the TCP listener and the pipeline wiring
// use it.
//
// A frame on the wire:
//
//	##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n
//	  ^len ^data segment: header fields, then CP=&&…&&                                                          ^CRC
//
// The pieces, in the order a connection meets them:
//
//   - Framer cuts a TCP stream into frames, resynchronising on garbage and
//     discarding frames above the size bound.
//   - Parse checks length and CRC and decodes the header and the CP into a
//     Frame; Encode gives the same bytes back. Errors wrap ErrTooLong,
//     ErrLength, ErrCRC or ErrSyntax; Reason labels them for metrics and
//     QnRtnFor picks the 9011 code to answer with.
//   - Reassembler joins split messages (PNUM > 1).
//   - Frame.Readings turns a data upload (2011 real-time, 2051 minute, 2061
//     hourly, 2031 daily) into ingest.Readings in canonical units, with a
//     Problem for every value it had to leave out.
//   - DataResponse (9014), RequestResponse (9011) and HistoryRequest
//     (2051/2061/2031 with BeginTime/EndTime) build what the centre sends.
//
// What it tolerates and why: real devices omit QN and Flag, use MNs that
// are not 24 hex digits, send PNO before PNUM, exceed the standard's 1024
// characters, and some send the byte-swapped Modbus CRC (accepted only with
// ParseOptions.AcceptSwappedCRC, and always reported on the Frame so that a
// per-station policy can be applied and counted). It stays strict on what
// would corrupt data: length, CRC and the key=value syntax.
//
// Units: factor codes map to envpipe parameters with the unit each code is
// sent in by default (ambient air in µg/m³, CO in mg/m³; water per HJ 212
// Table B.1, several metals in µg/L). A station's Units override the default
// per code; CheckUnits validates them when configuration is loaded.
//
// Facts and numbers come from the project's reference, standards.md §4
// (beside DESIGN.md); its frames are the tests' vectors
// (testdata/hj212-frames.tsv).
package hj212
