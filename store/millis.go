package store

import "time"

// Times are stored as BIGINT unix milliseconds, with 0 for the zero time, so
// both dialects compare and sort them the same way.

func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is toMillis' inverse, in UTC.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
