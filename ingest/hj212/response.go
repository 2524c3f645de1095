package hj212

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// STResponse is the system code of responses (standards.md §4.4).
const STResponse = "91"

// DataResponse builds the 9014 data response a centre sends for an upload
// whose Flag asks for one (WantsAck): the request's QN, PW and MN, ST=91
// and an empty CP. Send one per packet of a split message; each has its QN.
func DataResponse(req *Frame) *Frame {
	return response(req, CNDataResponse, nil)
}

// RequestResponse builds a 9011 request response carrying rtn, e.g.
// QnRtnFor(err) for a frame that failed to parse. HJ 212-2017 Table 9 lists
// 9011 as sent by field units in answer to the centre's commands; a centre
// that answers a device's malformed request with it does so by analogy.
func RequestResponse(req *Frame, rtn QnRtn) *Frame {
	return response(req, CNRequestResponse, CP{{{Key: "QnRtn", Value: strconv.Itoa(int(rtn))}}})
}

// response answers in the request's protocol version with neither the A
// nor the D bit: a response asks for no response and is never split
// (Flag=4 answers a 2017 sender's Flag=5, Flag=8 a 2025 sender's Flag=9).
// A request without Flag gets a response without one.
func response(req *Frame, cn string, cp CP) *Frame {
	f := &Frame{QN: req.QN, ST: STResponse, CN: cn, PW: req.PW, MN: req.MN, CP: cp}
	if req.HasFlag {
		f.Flag, f.HasFlag = MakeFlag(req.Flag.Version(), 0), true
	}
	return f
}

// HistoryRequest describes a centre's request for a station's stored
// aggregates, to fill a gap: CN 2051 (minute), 2061 (hourly) or 2031
// (daily) with BeginTime and EndTime in the CP.
type HistoryRequest struct {
	CN      string  // CNMinute, CNHourly or CNDaily
	ST      string  // the station's system code, e.g. "22" or "21"
	MN      string  // the station's device ID
	PW      string  // the station's access password
	Version Version // the station's protocol version: Flag.Version() of a frame it sent
	// Begin and End bound the periods wanted, by their start times
	// (DataTime semantics), inclusive.
	Begin, End time.Time
	Now        time.Time      // when the request is made: its QN
	Loc        *time.Location // the station clock's zone; nil means CST
}

// Frame builds the request frame, with the A bit set so that the station
// answers (9011, then the data, then 9012).
func (h HistoryRequest) Frame() (*Frame, error) {
	switch {
	case h.CN != CNMinute && h.CN != CNHourly && h.CN != CNDaily:
		return nil, fmt.Errorf("hj212: history request: CN %q is not 2051, 2061 or 2031", h.CN)
	case h.MN == "":
		return nil, errors.New("hj212: history request: no MN")
	case h.Begin.IsZero() || h.End.IsZero() || h.Now.IsZero():
		return nil, errors.New("hj212: history request: Begin, End and Now are required")
	case h.End.Before(h.Begin):
		return nil, fmt.Errorf("hj212: history request: End %v before Begin %v", h.End, h.Begin)
	}
	f := &Frame{
		QN: FormatQN(h.Now, h.Loc), ST: h.ST, CN: h.CN, PW: h.PW, MN: h.MN,
		Flag: MakeFlag(h.Version, FlagAck), HasFlag: true,
		CP: CP{
			{{Key: "BeginTime", Value: FormatDataTime(h.Begin, h.Loc)}},
			{{Key: "EndTime", Value: FormatDataTime(h.End, h.Loc)}},
		},
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("hj212: history request: %w", err)
	}
	return f, nil
}
