package ingest

import (
	"time"
)

// Kind is what a station measures; it is also the InfluxDB measurement its
// readings are written to.
type Kind string

const (
	KindAir   Kind = "air"
	KindWater Kind = "water"
)

// Flag is an HJ 212 data flag. Only FlagNormal values count for compliance
// figures and pollution alerts; the others are stored but kept apart.
type Flag byte

const (
	FlagNormal      Flag = 'N' // normal
	FlagStopped     Flag = 'F' // equipment stopped
	FlagMaintenance Flag = 'M' // maintenance
	FlagManual      Flag = 'S' // manually set
	FlagFault       Flag = 'D' // equipment fault
	FlagCalibration Flag = 'C' // calibration
	FlagOverRange   Flag = 'T' // over range
	FlagCommError   Flag = 'B' // communication abnormal
)

// ValidFlag reports whether f is one of the HJ 212 flags envpipe knows.
func ValidFlag(f Flag) bool {
	switch f {
	case FlagNormal, FlagStopped, FlagMaintenance, FlagManual, FlagFault,
		FlagCalibration, FlagOverRange, FlagCommError:
		return true
	}
	return false
}

// Value is one parameter's measurement in its canonical unit (see Params).
type Value struct {
	Param string
	V     float64
	Flag  Flag
	// PID is Param's ID when the decoder set it (0 otherwise); use
	// ParamID.
	PID ParamID
}

// Period says what a reading's values stand for. Instantaneous readings
// (JSON payloads, HJ 212 real-time data) have PeriodInstant; HJ 212 minute,
// hourly and daily data are means over the period starting at Time.
type Period string

const (
	PeriodInstant Period = ""
	PeriodMinute  Period = "minute"
	PeriodHour    Period = "hour"
	PeriodDay     Period = "day"
)

// Reading is what a station measured at one instant (or over one period):
// the unit that is validated, logged in the WAL and written as one InfluxDB
// point.
type Reading struct {
	Station string
	Time    time.Time
	Period  Period
	Values  []Value
}

// Get returns the value of param and whether it is present.
func (r *Reading) Get(param string) (Value, bool) {
	for _, v := range r.Values {
		if v.Param == param {
			return v, true
		}
	}
	return Value{}, false
}
