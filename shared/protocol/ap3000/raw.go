package ap3000

// Raw is the body of a command this package does not decode: an unknown or
// reserved command (0xFD, 0xFE, the host guide's 0x12 …), or a known command
// in a direction it does not travel (e.g. 0x81 read as Up). It keeps the data
// bytes so nothing is lost and the frame can be logged or forwarded; it is
// never an error.
type Raw struct {
	Cmd  Command
	Dir  Direction
	Data []byte
}

// Command returns r.Cmd.
func (r *Raw) Command() Command { return r.Cmd }

// Direction returns r.Dir.
func (r *Raw) Direction() Direction { return r.Dir }

func (r *Raw) appendData(dst []byte) ([]byte, error) { return append(dst, r.Data...), nil }

func (r *Raw) fields(f map[string]any) { f["data_hex"] = hexString(r.Data) }
