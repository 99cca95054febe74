package sim

import (
	"errors"
	"fmt"
	"io"
	"net"
)

// errStop ends readFrames without an error.
var errStop = errors.New("stop reading") //nolint:gochecknoglobals // sentinel

// readFrames reads the edge's side of a connection, splits the stream with
// the protocol's split and hands each whole frame to handle, until the
// connection ends or handle returns an error (errStop: a clean stop). The
// frame passed to handle is only valid during the call.
func readFrames(conn net.Conn, split func([]byte) (int, error), handle func(frame []byte) error) error {
	buf := make([]byte, 4096)
	start, end := 0, 0
	for {
		for start < end {
			n, err := split(buf[start:end])
			if err != nil {
				return fmt.Errorf("edge stream: %w", err)
			}
			if n == 0 {
				break
			}
			err = handle(buf[start : start+n])
			start += n
			if errors.Is(err, errStop) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		if start == end {
			start, end = 0, 0
		} else if end == len(buf) {
			end = copy(buf, buf[start:end])
			start = 0
		}
		n, err := conn.Read(buf[end:])
		end += n
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("edge closed the connection: %w", err)
			}
			return fmt.Errorf("read: %w", err)
		}
	}
}
