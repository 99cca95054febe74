package gateway

import (
	"sync"
	"sync/atomic"
)

// ReadBufferSize is the size of every read buffer ReadPooled hands out. A
// protocol's Split must accept no frame longer than this, so a frame always
// fits once the bytes before it are consumed.
const ReadBufferSize = 4096

// bufferPool shares read buffers among connections. Buffers are held only
// while bytes are in flight (a frame read and being handled, or a frame's
// first part waiting for the rest), so ten thousand mostly silent chargers
// need a few dozen buffers, not ten thousand.
type bufferPool struct {
	// pool holds array pointers, not slices: a slice put in a sync.Pool
	// would be boxed, an allocation per Release.
	pool  sync.Pool
	inUse atomic.Int64 // for the metric: buffers handed out, not yet put back
}

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { return new([ReadBufferSize]byte) }}}
}

func (p *bufferPool) get() []byte {
	p.inUse.Add(1)
	return p.pool.Get().(*[ReadBufferSize]byte)[:] //nolint:forcetypeassert // only arrays are put
}

// put takes back a buffer from get. It panics (a programmer error) if buf
// does not start a ReadBufferSize array, for example a re-slice buf[i:]:
// pooling that would hand out memory still in use.
func (p *bufferPool) put(buf []byte) {
	p.pool.Put((*[ReadBufferSize]byte)(buf[:ReadBufferSize]))
	p.inUse.Add(-1)
}
