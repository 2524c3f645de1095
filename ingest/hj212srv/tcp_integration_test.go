package hj212srv

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/envpipe/envpipe/ingest"
	"github.com/envpipe/envpipe/ingest/hj212"
	"github.com/envpipe/envpipe/ingest/station"
	"github.com/envpipe/envpipe/internal/testenv"
)

// Done-when (2) of issue 6: 50 stations connect over TCP and send 1 000
// frames each, pipelined, some split across writes with pauses, most joined
// several to a write, one in ten with a bad CRC and one in ten with a wrong
// password, all asking for an answer. Each good frame gets its 9014 and each
// bad one its 9011 with the right QnRtn, in frame order; InfluxDB holds
// exactly the good readings.
func TestFiftyTCPStationsSendAThousandFramesEachAndExactlyTheGoodOnesLand(t *testing.T) {
	testenv.Integration(t)
	const stations, perStation = 50, 1000
	var sts []*station.Station
	for s := range stations {
		sts = append(sts, airStation(fmt.Sprintf("tcp-%03d", s), fmt.Sprintf("MN%012d", s), fmt.Sprintf("pw%04d", s)))
	}
	reg := newRegistry(t, sts...)
	cfg := DefaultConfig()
	cfg.MaxFramesPerSecond = 0 // stations replaying a backlog as fast as TCP goes
	st := startStack(t, reg, cfg)

	base := time.Now().Add(-3 * time.Hour).Truncate(time.Hour)
	type verdict struct {
		cn  string
		rtn hj212.QnRtn
	}
	kindOf := func(i int) verdict {
		switch i % 10 {
		case 3:
			return verdict{hj212.CNRequestResponse, hj212.QnRtnCRC}
		case 7:
			return verdict{hj212.CNRequestResponse, hj212.QnRtnPW}
		}
		return verdict{hj212.CNDataResponse, 0}
	}
	value := func(s, i int) float64 { return float64(s) + float64(i%100)/4 }
	build := func(s, i int) ([]byte, string) {
		q := hj212.FormatQN(base.Add(time.Duration(i)*time.Millisecond), nil)
		pw := sts[s].HJ212Password
		if kindOf(i).rtn == hj212.QnRtnPW {
			pw = "wrong!"
		}
		f := frame(t, q, hj212.CNRealtime, sts[s].HJ212MN, pw, 5,
			dataCP(base.Add(time.Duration(i)*time.Second), value(s, i)))
		if kindOf(i).rtn == hj212.QnRtnCRC {
			f = badCRC(f)
		}
		return f, q
	}

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 2*stations)
	for s := range stations {
		nc, err := net.Dial("tcp", st.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		frames, qns := make([][]byte, perStation), make([]string, perStation)
		for i := range perStation {
			frames[i], qns[i] = build(s, i)
		}
		// Writer: every seventh frame split in three writes with pauses
		// between, the others joined up to eight to a write.
		wg.Go(func() {
			var batch []byte
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				_, err := nc.Write(batch)
				batch = batch[:0]
				return err
			}
			for i, f := range frames {
				if i%7 == 0 {
					if err := flush(); err != nil {
						errs <- err
						return
					}
					a, b := len(f)/3, 2*len(f)/3
					for _, part := range [][]byte{f[:a], f[a:b], f[b:]} {
						if _, err := nc.Write(part); err != nil {
							errs <- err
							return
						}
						time.Sleep(time.Millisecond)
					}
					continue
				}
				batch = append(batch, f...)
				if i%8 == 0 {
					if err := flush(); err != nil {
						errs <- err
						return
					}
				}
			}
			if err := flush(); err != nil {
				errs <- err
			}
		})
		// Reader: every answer, in frame order.
		wg.Go(func() {
			_ = nc.SetReadDeadline(time.Now().Add(90 * time.Second))
			fr := hj212.NewFramer(nc, 0)
			for i := range perStation {
				raw, err := fr.Next()
				if err != nil {
					errs <- fmt.Errorf("station %d: answer %d: %w", s, i, err)
					return
				}
				f, err := hj212.Parse(raw, hj212.ParseOptions{})
				if err != nil {
					errs <- fmt.Errorf("station %d: answer %d %q: %w", s, i, raw, err)
					return
				}
				want := kindOf(i)
				rtn, _ := f.CP.Get("QnRtn")
				if f.QN != qns[i] || f.CN != want.cn || (want.cn == hj212.CNRequestResponse && rtn != strconv.Itoa(int(want.rtn))) {
					errs <- fmt.Errorf("station %d: answer %d is CN=%s QN=%s QnRtn=%s, want CN=%s QN=%s QnRtn=%d",
						s, i, f.CN, f.QN, rtn, want.cn, qns[i], want.rtn)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	answered := time.Since(start)

	good := 0
	wantSum := 0.0
	for s := range stations {
		for i := range perStation {
			if kindOf(i).cn == hj212.CNDataResponse {
				good++
				wantSum += value(s, i)
			}
		}
	}
	st.waitCount(t, "air", "pm25", good, 60*time.Second)
	stored := time.Since(start)
	if got := st.sum(t, "air", "pm25"); math.Abs(got-wantSum) > 1e-6*wantSum {
		t.Errorf("sum(pm25) = %v, want %v", got, wantSum)
	}
	bad := stations * perStation / 10
	for reason, want := range map[ingest.Reason]int{ingest.ReasonHJ212CRC: bad, ingest.ReasonHJ212Password: bad} {
		if got := st.metric(t, "envpipe_readings_rejected_total", "reason", string(reason)); got != float64(want) {
			t.Errorf("rejected{reason=%s} = %v, want %d", reason, got, want)
		}
		if got := st.dead.reasons()[string(reason)]; got != want {
			t.Errorf("dead letters %s: %d, want %d", reason, got, want)
		}
	}
	for cn, want := range map[string]int{"9014": good, "9011": 2 * bad} {
		if got := st.metric(t, "envpipe_hj212_responses_total", "cn", cn); got != float64(want) {
			t.Errorf("responses{cn=%s} = %v, want %d", cn, got, want)
		}
	}
	total := stations * perStation
	t.Logf("%d frames from %d stations: all answered in %v (%.0f frames/s), %d readings in InfluxDB after %v",
		total, stations, answered.Round(time.Millisecond), float64(total)/answered.Seconds(), good, stored.Round(time.Millisecond))
}
