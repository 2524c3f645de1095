package hj212srv

import "time"

// limiter is a token bucket: rate frames per second, a burst of one
// second's worth. Not safe for concurrent use: one per connection reader.
type limiter struct {
	rate   float64 // 0: no limit
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(rate float64) *limiter {
	b := max(rate, 1)
	return &limiter{rate: rate, burst: b, tokens: b}
}

// take takes a token and returns how long to wait before using it.
func (l *limiter) take(now time.Time) time.Duration {
	if l.rate <= 0 {
		return 0
	}
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}
