package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// handlerIdle is how often idle handler goroutines are let go: when no new
// one was needed for this long, a quarter of them (at least one) exit, so
// after a burst their grown stacks are given back within minutes.
const handlerIdle = 10 * time.Second

// handlers runs frame handlers for every connection (Conn.Handle) on
// goroutines kept across frames. A frame goes to an idle handler goroutine
// if there is one, else to a new one, so there are about as many as frames
// handled at once: at most one per connection, and a connection's next frame
// may find the handler that answered its last one not yet waiting again.
// The gateway owns them and waits for them at shutdown, after its sessions,
// the only callers.
//
// The per-frame path is one channel handoff each way: a handler waits on
// the jobs channel alone (no timer, no select), as this runs for every
// frame from every charger.
type handlers struct {
	// jobs is unbuffered: a send succeeds only if a handler is idle. A nil
	// job tells the handler receiving it to exit; closing jobs, all of them.
	jobs    chan *handlerJob
	idle    time.Duration
	running atomic.Int64
	spawned atomic.Bool // a handler was started since the last trim
	free    sync.Pool   // *handlerJob, each with its own reply channel
	wg      sync.WaitGroup

	stopTrim func()
	trimDone chan struct{}
}

type handlerJob struct {
	frame    []byte
	f        func([]byte) error
	err      error
	panicked bool
	panicVal any
	reply    chan struct{} // buffered 1: the handler never blocks on it
}

func newHandlers(idle time.Duration) *handlers {
	return &handlers{
		jobs: make(chan *handlerJob),
		idle: idle,
		free: sync.Pool{New: func() any { return &handlerJob{reply: make(chan struct{}, 1)} }},
	}
}

// do runs f(frame) on a handler goroutine and waits for it.
func (h *handlers) do(frame []byte, f func([]byte) error) error {
	j := h.free.Get().(*handlerJob) //nolint:forcetypeassert // only jobs are put
	j.frame, j.f = frame, f
	select {
	case h.jobs <- j:
	default:
		h.wg.Add(1)
		h.running.Add(1)
		h.spawned.Store(true)
		go h.loop(j)
	}
	<-j.reply
	err, panicked, val := j.err, j.panicked, j.panicVal
	*j = handlerJob{reply: j.reply}
	h.free.Put(j)
	if panicked {
		// The session's own recover sees the panic as if f ran inline.
		panic(val)
	}
	return err
}

// loop runs j, then every job handed to it, until told to exit.
func (h *handlers) loop(j *handlerJob) {
	defer h.wg.Done()
	defer h.running.Add(-1)
	for ; j != nil; j = <-h.jobs {
		j.run()
	}
}

func (j *handlerJob) run() {
	defer func() {
		if r := recover(); r != nil {
			j.panicked, j.panicVal = true, r
		}
		j.reply <- struct{}{}
	}()
	j.err = j.f(j.frame)
}

// start starts letting idle handlers go (see handlerIdle).
func (h *handlers) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.stopTrim, h.trimDone = cancel, make(chan struct{})
	go func() {
		defer close(h.trimDone)
		h.trim(ctx)
	}()
}

func (h *handlers) trim(ctx context.Context) {
	t := time.NewTicker(h.idle)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !h.spawned.Swap(false) {
			h.dismiss(max(1, h.running.Load()/4))
		}
	}
}

// dismiss tells up to n idle handlers to exit.
func (h *handlers) dismiss(n int64) {
	for range n {
		select {
		case h.jobs <- nil: // taken only by an idle handler
		default:
			return
		}
	}
}

// stop makes every handler exit and waits for them. Call it once, after
// start, when no session can call do any more.
func (h *handlers) stop() {
	h.stopTrim()
	<-h.trimDone
	close(h.jobs)
	h.wg.Wait()
}
