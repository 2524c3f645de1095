package ingest

// Reason says why input was refused. The values are label values of
// envpipe_readings_rejected_total, so the set is small and fixed.
type Reason string

const (
	ReasonPayloadTooLarge  Reason = "payload_too_large"
	ReasonMalformedJSON    Reason = "malformed_json"
	ReasonBadShape         Reason = "bad_shape"          // valid JSON, not a reading or an array of readings
	ReasonTooManyReadings  Reason = "too_many_readings"  // array longer than allowed
	ReasonDuplicateKey     Reason = "duplicate_key"      // the same key twice in one object
	ReasonInvalidStationID Reason = "invalid_station_id" // characters that could inject line protocol
	ReasonUnknownStation   Reason = "unknown_station"
	ReasonStationMismatch  Reason = "station_mismatch" // topic and payload name different stations
	ReasonBadTime          Reason = "bad_time"
	ReasonTimeFuture       Reason = "time_future"
	ReasonTimeTooOld       Reason = "time_too_old"
	ReasonNoValues         Reason = "no_values"
	ReasonInvalidParam     Reason = "invalid_param_name" // characters that could inject line protocol
	ReasonUnknownParam     Reason = "unknown_param"
	ReasonWrongKind        Reason = "param_wrong_kind" // e.g. pm25 from a water section
	ReasonNotNumeric       Reason = "not_numeric"
	ReasonNotFinite        Reason = "not_finite"
	ReasonBelowMin         Reason = "below_min"
	ReasonAboveMax         Reason = "above_max"
	ReasonBadFlag          Reason = "bad_flag"
	ReasonBadUnit          Reason = "bad_unit"
	ReasonBadTopic         Reason = "bad_topic"
	// HJ 212 (frames over MQTT or TCP)
	ReasonHJ212Frame    Reason = "hj212_bad_frame"
	ReasonHJ212NotData  Reason = "hj212_not_data" // a command that is not an upload (e.g. a 9014 sent to envpipe)
	ReasonHJ212CRC      Reason = "hj212_bad_crc"
	ReasonHJ212Password Reason = "hj212_bad_password"
	ReasonHJ212Factor   Reason = "hj212_unknown_factor"
	// A factor code HJ 212 defines that envpipe has no parameter for (NOx,
	// volatile phenol, the GB 3838 metals): counted, not dead-lettered,
	// since a station that measures it sends it in every frame.
	ReasonHJ212Unsupported Reason = "hj212_unsupported_factor"
	// Packets of a split message given up on (dead-lettered one by one,
	// re-encoded): not complete within the reassembly age, pushed out by
	// the reassembly bounds, or followed by a new message.
	ReasonHJ212SplitExpired    Reason = "hj212_split_expired"
	ReasonHJ212SplitEvicted    Reason = "hj212_split_evicted"
	ReasonHJ212SplitIncomplete Reason = "hj212_split_incomplete"
)

// Reasons lists every reason, to pre-initialise metrics at zero.
var Reasons = []Reason{
	ReasonPayloadTooLarge, ReasonMalformedJSON, ReasonBadShape, ReasonTooManyReadings,
	ReasonDuplicateKey, ReasonInvalidStationID, ReasonUnknownStation, ReasonStationMismatch,
	ReasonBadTime, ReasonTimeFuture, ReasonTimeTooOld, ReasonNoValues, ReasonInvalidParam,
	ReasonUnknownParam, ReasonWrongKind, ReasonNotNumeric, ReasonNotFinite, ReasonBelowMin,
	ReasonAboveMax, ReasonBadFlag, ReasonBadUnit, ReasonBadTopic,
	ReasonHJ212Frame, ReasonHJ212NotData, ReasonHJ212CRC, ReasonHJ212Password, ReasonHJ212Factor,
	ReasonHJ212Unsupported, ReasonHJ212SplitExpired, ReasonHJ212SplitEvicted, ReasonHJ212SplitIncomplete,
}

// DeadLettered reports whether refusals for r are written to the dead-letter
// file as well as counted. Only ReasonHJ212Unsupported is not: it refuses
// valid data envpipe has no place for, on every frame of a station, and the
// dead letters would bury the refusals an operator must act on.
func (r Reason) DeadLettered() bool { return r != ReasonHJ212Unsupported }

// Reject is one refusal: of a whole message (Station and Param empty), of
// one reading (Param empty) or of one value.
type Reject struct {
	Reason  Reason
	Station string
	Param   string
	Detail  string
}

func (r Reject) Error() string {
	s := string(r.Reason)
	if r.Station != "" {
		s += " station=" + r.Station
	}
	if r.Param != "" {
		s += " param=" + r.Param
	}
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s
}
