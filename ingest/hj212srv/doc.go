// Package hj212srv brings HJ 212 frames into envpipe's pipeline, from both
// transports DESIGN.md names:
//
//	MQTT  env/{station}/hj212 ─┐
//	                           ├─▶ deliveries ─▶ pipeline (Decoder) ─▶ WAL ─(durable)─▶ Ack
//	TCP   Listener ────────────┘                                                        │
//	      ▲  one reader and one writer goroutine per connection                         │
//	      └── 9014 / 9011 in frame order ◀─────────────────────────────────────────────┘
//
// Decoder is the pipeline.Decoder for pipeline.FormatHJ212. For every frame
// it parses (strict CRC, unless the station allows the byte-swapped Modbus
// CRC, which is then counted), finds the station by MN, checks that it is
// the station the transport vouches for (the MQTT topic's) and that PW is
// the station's hj212_password, joins split messages, and turns the data
// uploads (2011 real-time, 2051 minute, 2061 hourly, 2031 daily) into
// readings with the station's units and the frame's period. Other uploads
// (2021, 2041, 2081, the 2025 heartbeat) are taken without readings, as the
// Listener takes them. Anything it cannot use becomes an ingest.Reject: the
// pipeline counts it once in envpipe_readings_rejected_total and
// dead-letters it once (except hj212_unsupported_factor, counted only). A
// value with a one-character flag outside HJ 212-2017 Table 8 is kept with
// that flag and counted in envpipe_hj212_unknown_flags_total.
//
// Listener accepts stations that connect directly over TCP, as HJ 212
// intends: long-lived connections carrying many frames, cut by an
// hj212.Framer whatever the read boundaries. Every data frame, and every
// frame that fails the same checks the Decoder makes (so that the pipeline
// counts and dead-letters it, exactly once), becomes a pipeline.Delivery on
// the channel the MQTT source feeds. Its Ack writes the answer the frame's
// Flag asks for: 9014 once the readings are durable in the WAL (that is
// what the pipeline's Ack means), or 9011 with the QnRtn of the failed
// check (9 CRC, 3 password, 4 MN, ...). The pipeline acks in arrival order,
// so each connection's answers leave in frame order. A station's answers to
// envpipe's own requests (9011, 9012) and its other uploads (2021, 2081, the
// 2025 heartbeat) are handled on the connection and never reach the
// pipeline.
//
// Bounds per connection: frame size (max_frame_bytes), frames awaiting an
// answer (max_inflight: the reader stops reading, TCP pushes back), frames
// per second, an idle timeout (no frame that passed the frame check) and a
// write timeout; maxInvalidFrames invalid or oversized frames in a row
// close the connection; and max_connections in all. When a station closes
// its sending side, its answers due within write_timeout are still sent.
//
// Backfill: the listener remembers, per station, the newest DataTime of its
// real-time and minute data seen over TCP. When data resumes after a gap
// longer than max(3 × the station's interval, backfill.min_gap) — because
// the station reconnected or its link recovered — it asks the station for
// the missing minute (2051) and hourly (2061) data with BeginTime/EndTime,
// the span capped at backfill.max_span, one request in flight per station,
// each bounded by backfill.timeout. The station answers with ordinary data
// frames that take the same path as any other; points are idempotent in
// InfluxDB, so overlaps are harmless. Gaps are found from DataTime, not the
// wall clock, so a simulated station can be silent for 30 simulated minutes
// in a test that takes seconds.
//
// Split messages (PNUM > 1) are answered packet by packet as devices expect
// (many wait for each 9014 before sending the next packet); the packets of
// an incomplete message are held in memory by the Decoder's
// hj212.Reassembler, and each is in the Journal, fsynced, before it is
// answered: at start the Journal's packets are replayed through the
// pipeline first, so a restart between packets loses none. A message the
// Reassembler gives up on (expired, evicted, or followed by a new one) has
// its packets dead-lettered, re-encoded, under hj212_split_*.
//
// Package fieldunit, beside this one, is the station side of the protocol,
// for tests and stationsim.
package hj212srv
