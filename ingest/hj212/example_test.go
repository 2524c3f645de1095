package hj212_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/envpipe/envpipe/ingest/hj212"
)

// A station connection in outline: cut frames from the stream, parse,
// reassemble, convert, and answer the uploads that ask for it.
func Example() {
	conn := strings.NewReader("noise" +
		"##0182QN=20260301081000123;ST=22;CN=2051;PW=123456;MN=ZZAIR0101;Flag=5;CP=&&DataTime=20260301081000;a34004-Avg=38.2,a34004-Flag=N;a21005-Avg=0.8,a21005-Flag=N;a34002-Avg=61,a34002-Flag=M&&EF41\r\n")
	framer := hj212.NewFramer(conn, 0)
	reasm := hj212.NewReassembler(hj212.ReassemblerConfig{})
	for {
		raw, err := framer.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println("framing:", hj212.Reason(err))
			continue
		}
		f, err := hj212.Parse(raw, hj212.ParseOptions{})
		if err != nil {
			fmt.Println("rejected:", hj212.Reason(err))
			continue
		}
		if f.WantsAck() {
			resp, _ := hj212.DataResponse(f).Encode()
			fmt.Println("answer:", strings.TrimSuffix(string(resp), "\r\n"))
		}
		whole, _, err := reasm.Add(f, time.Now())
		if err != nil || whole == nil {
			continue
		}
		batch, err := whole.Readings("zz-air-0101", nil, nil)
		if err != nil {
			fmt.Println("rejected:", hj212.Reason(err))
			continue
		}
		for _, r := range batch.Readings {
			fmt.Println(batch.Period, r.Time.Format(time.RFC3339))
			for _, v := range r.Values {
				fmt.Printf("  %s %g %c\n", v.Param, v.V, v.Flag)
			}
		}
	}
	fmt.Printf("skipped %d bytes\n", framer.Stats().Skipped)
	// Output:
	// answer: ##0072QN=20260301081000123;ST=91;CN=9014;PW=123456;MN=ZZAIR0101;Flag=4;CP=&&&&7640
	// minute 2026-03-01T08:10:00+08:00
	//   pm25 38.2 N
	//   co 0.8 N
	//   pm10 61 M
	// skipped 5 bytes
}
