package fieldunit

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/envpipe/envpipe/ingest/hj212"
)

// DefaultWriteTimeout bounds one write of a Session.
const DefaultWriteTimeout = 10 * time.Second

// Session is a unit's TCP connection to a centre: uploads go out with
// Send, and Serve reads what the centre sends, answering its history
// requests from the unit's history on a goroutine of its own (one request
// at a time, in order), so that reading never waits for writing.
type Session struct {
	u  *Unit
	nc net.Conn

	// WriteTimeout bounds each write; 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration

	wmu      sync.Mutex
	requests atomic.Int64
	answered atomic.Int64
}

// Dial connects u to the centre at addr.
func Dial(ctx context.Context, addr string, u *Unit) (*Session, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewSession(nc, u), nil
}

// NewSession runs u over an open connection.
func NewSession(nc net.Conn, u *Unit) *Session { return &Session{u: u, nc: nc} }

// Unit returns the session's unit.
func (s *Session) Unit() *Unit { return s.u }

// Send writes b (one or more frames) whole.
func (s *Session) Send(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	t := s.WriteTimeout
	if t <= 0 {
		t = DefaultWriteTimeout
	}
	_ = s.nc.SetWriteDeadline(time.Now().Add(t))
	_, err := s.nc.Write(b)
	return err
}

// Upload sends r as cn (see Unit.Upload).
func (s *Session) Upload(cn string, r Record) error {
	b, err := s.u.Upload(cn, r)
	if err != nil {
		return err
	}
	return s.Send(b)
}

// Close closes the connection; Serve returns.
func (s *Session) Close() error { return s.nc.Close() }

// Requests returns the history requests received so far, and how many of
// them were answered with data or "no data".
func (s *Session) Requests() (received, answered int64) {
	return s.requests.Load(), s.answered.Load()
}

// Serve reads frames from the centre until the connection ends or ctx does
// (which closes it). History requests are answered; every other frame
// (9014 data responses, 9011 request responses, commands) goes to onFrame,
// which may be nil, on Serve's goroutine. It returns nil at the end of the
// stream or of ctx, and waits for the request being answered.
func (s *Session) Serve(ctx context.Context, onFrame func(*hj212.Frame)) error {
	stop := context.AfterFunc(ctx, func() { s.nc.Close() })
	defer stop()

	reqs := make(chan *hj212.Frame, 16)
	var wg sync.WaitGroup
	wg.Go(func() {
		for req := range reqs {
			s.answer(req)
		}
	})
	defer func() {
		close(reqs)
		wg.Wait()
	}()

	fr := hj212.NewFramer(s.nc, 0)
	for {
		raw, err := fr.Next()
		if errors.Is(err, hj212.ErrTooLong) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		f, err := hj212.Parse(raw, hj212.ParseOptions{})
		if err != nil {
			continue // a centre's garbage: nothing to answer
		}
		if isHistoryRequest(f) {
			s.requests.Add(1)
			select {
			case reqs <- f:
			default:
				// Sixteen requests queued: the centre is not waiting for
				// answers. Refuse this one.
				_ = s.Send(encode(hj212.RequestResponse(f, hj212.QnRtnRejected)))
			}
			continue
		}
		if onFrame != nil {
			onFrame(f)
		}
	}
}

// isHistoryRequest reports whether f is a centre's request for stored data.
func isHistoryRequest(f *hj212.Frame) bool {
	switch f.CN {
	case hj212.CNMinute, hj212.CNHourly, hj212.CNDaily:
		_, ok := f.CP.Get("BeginTime")
		return ok
	}
	return false
}

// answer answers one history request: 9011 (QnRtn 1, or why not), the
// stored data of the span as upload frames, then 9012 (ExeRtn 1, or 100 when
// there is none).
func (s *Session) answer(req *hj212.Frame) {
	u := s.u
	rtn := hj212.QnRtnReady
	var begin, end time.Time
	switch {
	case req.MN != u.MN:
		rtn = hj212.QnRtnMN
	case req.PW != u.PW:
		rtn = hj212.QnRtnPW
	default:
		var err1, err2 error
		b, _ := req.CP.Get("BeginTime")
		e, _ := req.CP.Get("EndTime")
		begin, err1 = hj212.ParseDataTime(b, u.Loc)
		end, err2 = hj212.ParseDataTime(e, u.Loc)
		if err1 != nil || err2 != nil {
			rtn = hj212.QnRtnRejected
		}
	}
	if err := s.Send(encode(hj212.RequestResponse(req, rtn))); err != nil || rtn != hj212.QnRtnReady {
		return
	}
	recs := u.History(req.CN, begin, end)
	for _, r := range recs {
		if err := s.Upload(req.CN, r); err != nil {
			return
		}
	}
	exe := 1
	if len(recs) == 0 {
		exe = 100
	}
	if err := s.Send(encode(ExecResult(req, exe))); err == nil {
		s.answered.Add(1)
	}
}

// ExecResult builds the 9012 a field unit sends when it has carried out
// req: ExeRtn 1 success, 100 no data, ... (HJ 212-2017 Table 6).
func ExecResult(req *hj212.Frame, exeRtn int) *hj212.Frame {
	f := &hj212.Frame{QN: req.QN, ST: hj212.STResponse, CN: hj212.CNExecResult, PW: req.PW, MN: req.MN,
		CP: hj212.CP{{{Key: "ExeRtn", Value: strconv.Itoa(exeRtn)}}}}
	if req.HasFlag {
		f.Flag, f.HasFlag = hj212.MakeFlag(req.Flag.Version(), 0), true
	}
	return f
}

// encode encodes a response built from a frame that parsed, which
// re-encodes; should one not, nothing is sent.
func encode(f *hj212.Frame) []byte {
	b, _ := f.Encode()
	return b
}
