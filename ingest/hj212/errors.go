package hj212

import (
	"errors"
	"strings"
)

// Errors returned by this package, for use with errors.Is. Every error from
// Parse wraps exactly one of the first four; Reason turns any of them into a
// short label for metrics and dead letters.
var (
	// ErrTooLong: the frame is longer than the configured bound.
	ErrTooLong = errors.New("hj212: frame too long")
	// ErrLength: the 4-digit length field is malformed or does not match the
	// data segment.
	ErrLength = errors.New("hj212: bad length field")
	// ErrCRC: the CRC field is malformed or does not match the data segment.
	ErrCRC = errors.New("hj212: bad CRC")
	// ErrSyntax: the frame is not "##" LLLL data CCCC [CR LF], or its data
	// segment (header fields or CP) does not follow HJ 212 syntax.
	ErrSyntax = errors.New("hj212: syntax error")
	// ErrNotData: Readings was called on a frame whose CN carries no
	// pollutant data (only 2011, 2051, 2061 and 2031 do).
	ErrNotData = errors.New("hj212: not a data upload")
	// ErrDataTime: a data upload has no DataTime, an invalid one, or values
	// before its first DataTime, so its readings cannot be timed.
	ErrDataTime = errors.New("hj212: bad DataTime")
)

// Reasons: machine-readable labels for rejected frames and dropped values,
// stable because they end up in metrics labels and dead-letter records.
const (
	ReasonTooLong   = "hj212_too_long"
	ReasonBadLength = "hj212_bad_length"
	ReasonBadCRC    = "hj212_bad_crc"
	ReasonSyntax    = "hj212_syntax"
	ReasonNotData   = "hj212_not_data"
	ReasonDataTime  = "hj212_bad_datatime"
	ReasonInvalid   = "hj212_invalid" // an error that is none of the above

	// Problems with single values (see Problem).
	ReasonUnknownFactor     = "hj212_unknown_factor"     // code not in the factor table
	ReasonUnsupportedFactor = "hj212_unsupported_factor" // known code, but envpipe has no parameter for it
	ReasonUnknownField      = "hj212_unknown_field"      // CP key that is neither DataTime nor factor-suffix
	ReasonMissingValue      = "hj212_missing_value"      // factor without the -Rtd/-Avg the CN calls for
	ReasonBadValue          = "hj212_bad_value"          // value that is not a finite decimal number, in its unit or the canonical one
	ReasonUnknownFlag       = "hj212_unknown_flag"       // -Flag outside N F M S D C T B: kept raw (a Note), or left out when not one safe character
	ReasonBadUnit           = "hj212_bad_unit"           // unit override that cannot be converted
	ReasonDuplicate         = "hj212_duplicate"          // second value for the same parameter and time

	// Split messages dropped by the Reassembler (see Dropped).
	ReasonSplitExpired    = "hj212_split_expired"    // not complete within MaxAge
	ReasonSplitEvicted    = "hj212_split_evicted"    // pushed out by the MaxPending or MaxBytes bound
	ReasonSplitIncomplete = "hj212_split_incomplete" // a new message started before this one completed
)

// Reason returns the label for err: ReasonBadCRC for an error wrapping ErrCRC
// and so on, ReasonInvalid for an error from elsewhere, "" for nil.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTooLong):
		return ReasonTooLong
	case errors.Is(err, ErrLength):
		return ReasonBadLength
	case errors.Is(err, ErrCRC):
		return ReasonBadCRC
	case errors.Is(err, ErrSyntax):
		return ReasonSyntax
	case errors.Is(err, ErrNotData):
		return ReasonNotData
	case errors.Is(err, ErrDataTime):
		return ReasonDataTime
	}
	return ReasonInvalid
}

// FrameError is the error Parse and Encode return: which check failed (Kind,
// one of the sentinel errors above), which field it concerns if any, and a
// human-readable detail for logs.
type FrameError struct {
	Kind   error  // ErrTooLong, ErrLength, ErrCRC or ErrSyntax
	Field  string // header field ("QN", "CN", "Flag", ...) or "CP"; "" if none
	Detail string
}

func (e *FrameError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Field != "" {
		b.WriteString(" in ")
		b.WriteString(e.Field)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

func (e *FrameError) Unwrap() error { return e.Kind }

func frameErr(kind error, field, detail string) *FrameError {
	return &FrameError{Kind: kind, Field: field, Detail: detail}
}

// QnRtn is a request-response code (HJ 212-2017 Table 7), sent in CN=9011.
type QnRtn int

const (
	QnRtnReady    QnRtn = 1   // ready to execute the request
	QnRtnRejected QnRtn = 2   // request rejected
	QnRtnPW       QnRtn = 3   // PW error
	QnRtnMN       QnRtn = 4   // MN error
	QnRtnST       QnRtn = 5   // ST error
	QnRtnFlag     QnRtn = 6   // Flag error
	QnRtnQN       QnRtn = 7   // QN error
	QnRtnCN       QnRtn = 8   // CN error
	QnRtnCRC      QnRtn = 9   // CRC error
	QnRtnUnknown  QnRtn = 100 // unknown error
)

// QnRtnFor picks the QnRtn that answers a frame Parse rejected with err:
// QnRtnCRC for a CRC error, the code of the faulty header field for a syntax
// error in one, QnRtnRejected for any other malformed frame, QnRtnReady for
// nil and QnRtnUnknown for an error from elsewhere.
func QnRtnFor(err error) QnRtn {
	if err == nil {
		return QnRtnReady
	}
	if errors.Is(err, ErrCRC) {
		return QnRtnCRC
	}
	if fe, ok := errors.AsType[*FrameError](err); ok {
		switch fe.Field {
		case "PW":
			return QnRtnPW
		case "MN":
			return QnRtnMN
		case "ST":
			return QnRtnST
		case "Flag", "PNUM", "PNO":
			return QnRtnFlag
		case "QN":
			return QnRtnQN
		case "CN":
			return QnRtnCN
		}
		return QnRtnRejected
	}
	return QnRtnUnknown
}
