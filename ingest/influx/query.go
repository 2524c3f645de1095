package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Series is one series of an InfluxQL result: rows in the order of Columns,
// numbers as float64, time in Unix milliseconds (exact in a float64), null as nil.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Querier runs InfluxQL through the 1.x query API, which InfluxDB 1.8, 2.x
// (with a DBRP mapping) and 3.x all serve. envpipe uses it to warm its
// windows after a restart.
type Querier struct {
	url, db, rp, token string
	client             *http.Client
}

// NewQuerier queries the database behind cfg's bucket ("db/rp" or "db").
func NewQuerier(cfg Config) (*Querier, error) {
	token, err := cfg.Token()
	if err != nil {
		return nil, err
	}
	db, rp, _ := strings.Cut(cfg.Bucket, "/")
	return &Querier{url: strings.TrimRight(cfg.URL, "/"), db: db, rp: rp, token: token,
		client: &http.Client{Timeout: cfg.Timeout}}, nil
}

// Query runs q and returns the series of its first statement.
func (q *Querier) Query(ctx context.Context, influxQL string) ([]Series, error) {
	v := url.Values{"db": {q.db}, "q": {influxQL}, "epoch": {"ms"}}
	if q.rp != "" {
		v.Set("rp", q.rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.url+"/query?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if q.token != "" && q.token != ":" {
		req.Header.Set("Authorization", "Token "+q.token)
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influxql query: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Error   string `json:"error"`
		Results []struct {
			Error  string   `json:"error"`
			Series []Series `json:"series"`
		} `json:"results"`
	}
	dec := json.NewDecoder(resp.Body)
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("influxql query: %s: %w", resp.Status, err)
	}
	if body.Error != "" {
		return nil, fmt.Errorf("influxql query: %s", body.Error)
	}
	if len(body.Results) == 0 {
		return nil, nil
	}
	if e := body.Results[0].Error; e != "" {
		return nil, fmt.Errorf("influxql query: %s", e)
	}
	return body.Results[0].Series, nil
}

// Rows calls fn for every row of series with a column → value map and the
// row's time.
func Rows(series []Series, fn func(t time.Time, row map[string]any)) {
	for _, s := range series {
		for _, vals := range s.Values {
			row := make(map[string]any, len(s.Columns)+len(s.Tags))
			for k, v := range s.Tags {
				row[k] = v
			}
			var t time.Time
			for i, c := range s.Columns {
				if i >= len(vals) {
					break
				}
				if c == "time" {
					if f, ok := vals[i].(float64); ok {
						t = time.UnixMilli(int64(f))
					}
					continue
				}
				row[c] = vals[i]
			}
			fn(t, row)
		}
	}
}
