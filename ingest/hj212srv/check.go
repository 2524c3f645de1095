package hj212srv

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/station"
)

// checker makes the frame-level checks that both transports need: the
// Listener to pick its answer before the pipeline sees the frame, the
// Decoder to refuse the frame in the pipeline. Both run the same code on the
// same bytes, so they always agree; it only reads the registry and is safe
// for concurrent use.
type checker struct {
	reg    *station.Registry
	maxLen int
}

// verdict is what the checks found.
type verdict struct {
	frame   *hj212.Frame     // nil when the bytes could not be decoded as a frame
	station *station.Station // the frame's station, when the checks passed
	reject  ingest.Reject    // Reason is "" when the checks passed
	rtn     hj212.QnRtn      // the 9011 answer to a frame that failed
	// badFrame: the bytes failed the frame check itself (length, CRC,
	// syntax), so nothing in them can be trusted.
	badFrame bool
}

func (v *verdict) ok() bool { return v.reject.Reason == "" }

// check parses payload and checks it against the registry. topicStation is
// the station the transport vouches for ("" when it names none): an MQTT
// topic's station must be the frame's.
//
// Order: the frame itself (syntax, length, CRC), then who sent it (MN),
// whether that station accepts the swapped CRC it may have used, whether it
// may speak on this topic, and its password.
func (c *checker) check(payload []byte, topicStation string) verdict {
	// Accept the swapped CRC here and decide per station below.
	f, err := hj212.Parse(payload, hj212.ParseOptions{MaxLen: c.maxLen, AcceptSwappedCRC: true})
	if err != nil {
		reason := ingest.ReasonHJ212Frame
		if errors.Is(err, hj212.ErrCRC) {
			reason = ingest.ReasonHJ212CRC
		}
		return verdict{frame: f, reject: ingest.Reject{Reason: reason, Detail: err.Error()}, rtn: hj212.QnRtnFor(err), badFrame: true}
	}
	st, ok := c.reg.LookupMN(f.MN)
	if !ok {
		return verdict{frame: f, rtn: hj212.QnRtnMN, reject: ingest.Reject{Reason: ingest.ReasonUnknownStation,
			Detail: fmt.Sprintf("no station has hj212_mn %s", quote(f.MN))}}
	}
	if f.SwappedCRC && !st.HJ212SwappedCRC {
		return verdict{frame: f, rtn: hj212.QnRtnCRC, reject: ingest.Reject{Reason: ingest.ReasonHJ212CRC, Station: st.ID,
			Detail: "the frame carries the byte-swapped Modbus CRC and the station's hj212_swapped_crc is off"}}
	}
	if topicStation != "" && topicStation != st.ID {
		return verdict{frame: f, rtn: hj212.QnRtnMN, reject: ingest.Reject{Reason: ingest.ReasonStationMismatch, Station: st.ID,
			Detail: fmt.Sprintf("MN %s is %s's, published on the topic of %s", quote(f.MN), st.ID, quote(topicStation))}}
	}
	// Constant time, so that timing does not reveal the password; never
	// put either password in the detail (dead letters and logs are not
	// secret).
	if subtle.ConstantTimeCompare([]byte(f.PW), []byte(st.HJ212Password)) != 1 {
		return verdict{frame: f, rtn: hj212.QnRtnPW, reject: ingest.Reject{Reason: ingest.ReasonHJ212Password, Station: st.ID,
			Detail: "PW does not match the station's hj212_password"}}
	}
	return verdict{frame: f, station: st}
}

// quote quotes s for a detail, cut to 64 bytes: MNs are whatever a device
// sends.
func quote(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q...", s[:64])
	}
	return fmt.Sprintf("%q", s)
}

// isData reports whether cn is a data upload envpipe ingests.
func isData(cn string) bool {
	_, _, ok := hj212.PeriodOf(cn)
	return ok
}

// period maps the codec's period to the Reading's.
func period(p hj212.Period) ingest.Period {
	switch p {
	case hj212.PeriodMinute:
		return ingest.PeriodMinute
	case hj212.PeriodHour:
		return ingest.PeriodHour
	case hj212.PeriodDay:
		return ingest.PeriodDay
	}
	return ingest.PeriodInstant
}

// problemReason maps a value the codec left out to the rejection reason
// envpipe counts it under.
func problemReason(r string) ingest.Reason {
	switch r {
	case hj212.ReasonUnknownFactor, hj212.ReasonUnknownField:
		return ingest.ReasonHJ212Factor
	case hj212.ReasonUnsupportedFactor:
		return ingest.ReasonHJ212Unsupported
	case hj212.ReasonMissingValue:
		return ingest.ReasonNoValues
	case hj212.ReasonBadValue:
		return ingest.ReasonNotNumeric
	case hj212.ReasonUnknownFlag:
		return ingest.ReasonBadFlag
	case hj212.ReasonBadUnit:
		return ingest.ReasonBadUnit
	case hj212.ReasonDuplicate:
		return ingest.ReasonDuplicateKey
	}
	return ingest.ReasonHJ212Frame
}
