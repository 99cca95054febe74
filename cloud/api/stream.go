package api

import (
	"net/http"
	"time"
)

// streamWriteTimeout bounds each write of a long-lived stream, so that a
// client that stopped reading is dropped instead of holding a subscription.
const streamWriteTimeout = 30 * time.Second

// streamDeadlines lets the responses of h (server-streaming Connect calls:
// LiveService.Watch) outlive the server's ReadTimeout and WriteTimeout,
// which are sized for unary calls: the request's read deadline is lifted
// once its handler runs (the request is read by then, and net/http would
// otherwise end the call when it passes), and every write gets a deadline
// of its own.
func streamDeadlines(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// ErrNotSupported (a test recorder) leaves the server's deadlines.
		_ = rc.SetReadDeadline(time.Time{})
		h.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc}, r)
	})
}

// deadlineWriter renews the write deadline before every write and flush.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (d *deadlineWriter) renew() { _ = d.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)) }

func (d *deadlineWriter) WriteHeader(code int) {
	d.renew()
	d.ResponseWriter.WriteHeader(code)
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.renew()
	return d.ResponseWriter.Write(p)
}

func (d *deadlineWriter) Flush() {
	d.renew()
	_ = d.rc.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
