package ap3000

// Messages whose layout has no data (ap3000.md §7.1 0x22, §7.2 "(empty)").
// Data a newer firmware might add is kept in Extra.

// TimeRequest asks for the server time on power-up and every 12 h; answer with
// TimeReply (ap3000.md §5, §7.1).
type TimeRequest struct {
	Extra []byte
}

// Command returns CmdTimeRequest.
func (*TimeRequest) Command() Command { return CmdTimeRequest }

// Direction returns Up.
func (*TimeRequest) Direction() Direction { return Up }

func decodeTimeRequest(b []byte) (*TimeRequest, error) {
	return &TimeRequest{Extra: rest(b, HeaderSize)}, nil
}

func (m *TimeRequest) appendData(dst []byte) ([]byte, error) { return append(dst, m.Extra...), nil }

func (m *TimeRequest) fields(f map[string]any) { putExtra(f, m.Extra) }

// QueryDevice asks the device to send Register, OldHeartbeat and Heartbeat; it has
// no reply of its own (ap3000.md §5, §7.2).
type QueryDevice struct {
	Extra []byte
}

// Command returns CmdQueryDevice.
func (*QueryDevice) Command() Command { return CmdQueryDevice }

// Direction returns Down.
func (*QueryDevice) Direction() Direction { return Down }

func decodeQueryDevice(b []byte) (*QueryDevice, error) {
	return &QueryDevice{Extra: rest(b, HeaderSize)}, nil
}

func (m *QueryDevice) appendData(dst []byte) ([]byte, error) { return append(dst, m.Extra...), nil }

func (m *QueryDevice) fields(f map[string]any) { putExtra(f, m.Extra) }

// Reboot reboots the device (ap3000.md §5, §7.2).
type Reboot struct {
	Extra []byte
}

// Command returns CmdReboot.
func (*Reboot) Command() Command { return CmdReboot }

// Direction returns Down.
func (*Reboot) Direction() Direction { return Down }

func decodeReboot(b []byte) (*Reboot, error) {
	return &Reboot{Extra: rest(b, HeaderSize)}, nil
}

func (m *Reboot) appendData(dst []byte) ([]byte, error) { return append(dst, m.Extra...), nil }

func (m *Reboot) fields(f map[string]any) { putExtra(f, m.Extra) }

// ClearMemory clears the device memory, keeping ids and upgrade state (ap3000.md §5, §7.2).
type ClearMemory struct {
	Extra []byte
}

// Command returns CmdClearMemory.
func (*ClearMemory) Command() Command { return CmdClearMemory }

// Direction returns Down.
func (*ClearMemory) Direction() Direction { return Down }

func decodeClearMemory(b []byte) (*ClearMemory, error) {
	return &ClearMemory{Extra: rest(b, HeaderSize)}, nil
}

func (m *ClearMemory) appendData(dst []byte) ([]byte, error) { return append(dst, m.Extra...), nil }

func (m *ClearMemory) fields(f map[string]any) { putExtra(f, m.Extra) }

// QueryRunParams1 asks for the 0x83 run parameters; the device answers with
// RunParams1Report (ap3000.md §5, §7.2).
type QueryRunParams1 struct {
	Extra []byte
}

// Command returns CmdQueryRunParams1.
func (*QueryRunParams1) Command() Command { return CmdQueryRunParams1 }

// Direction returns Down.
func (*QueryRunParams1) Direction() Direction { return Down }

func decodeQueryRunParams1(b []byte) (*QueryRunParams1, error) {
	return &QueryRunParams1{Extra: rest(b, HeaderSize)}, nil
}

func (m *QueryRunParams1) appendData(dst []byte) ([]byte, error) { return append(dst, m.Extra...), nil }

func (m *QueryRunParams1) fields(f map[string]any) { putExtra(f, m.Extra) }

// QueryRunParams2 asks for the 0x84 run parameters; the device answers with
// RunParams2Report (ap3000.md §5, §7.2).
type QueryRunParams2 struct {
	Extra []byte
}

// Command returns CmdQueryRunParams2.
func (*QueryRunParams2) Command() Command { return CmdQueryRunParams2 }

// Direction returns Down.
func (*QueryRunParams2) Direction() Direction { return Down }

func decodeQueryRunParams2(b []byte) (*QueryRunParams2, error) {
	return &QueryRunParams2{Extra: rest(b, HeaderSize)}, nil
}

func (m *QueryRunParams2) appendData(dst []byte) ([]byte, error) { return append(dst, m.Extra...), nil }

func (m *QueryRunParams2) fields(f map[string]any) { putExtra(f, m.Extra) }

// QueryLimits asks for the 0x85 limits; the device answers with LimitsReport (ap3000.md §5, §7.2).
type QueryLimits struct {
	Extra []byte
}

// Command returns CmdQueryLimits.
func (*QueryLimits) Command() Command { return CmdQueryLimits }

// Direction returns Down.
func (*QueryLimits) Direction() Direction { return Down }

func decodeQueryLimits(b []byte) (*QueryLimits, error) {
	return &QueryLimits{Extra: rest(b, HeaderSize)}, nil
}

func (m *QueryLimits) appendData(dst []byte) ([]byte, error) { return append(dst, m.Extra...), nil }

func (m *QueryLimits) fields(f map[string]any) { putExtra(f, m.Extra) }

// QueryCardKeys asks for the 0x86 card parameters; the device answers with
// CardKeysReport (ap3000.md §5, §7.2).
type QueryCardKeys struct {
	Extra []byte
}

// Command returns CmdQueryCardKeys.
func (*QueryCardKeys) Command() Command { return CmdQueryCardKeys }

// Direction returns Down.
func (*QueryCardKeys) Direction() Direction { return Down }

func decodeQueryCardKeys(b []byte) (*QueryCardKeys, error) {
	return &QueryCardKeys{Extra: rest(b, HeaderSize)}, nil
}

func (m *QueryCardKeys) appendData(dst []byte) ([]byte, error) { return append(dst, m.Extra...), nil }

func (m *QueryCardKeys) fields(f map[string]any) { putExtra(f, m.Extra) }

// SelfUpgrade makes the device download new firmware by itself; it has no reply
// (ap3000.md §5, §7.2).
type SelfUpgrade struct {
	Extra []byte
}

// Command returns CmdSelfUpgrade.
func (*SelfUpgrade) Command() Command { return CmdSelfUpgrade }

// Direction returns Down.
func (*SelfUpgrade) Direction() Direction { return Down }

func decodeSelfUpgrade(b []byte) (*SelfUpgrade, error) {
	return &SelfUpgrade{Extra: rest(b, HeaderSize)}, nil
}

func (m *SelfUpgrade) appendData(dst []byte) ([]byte, error) { return append(dst, m.Extra...), nil }

func (m *SelfUpgrade) fields(f map[string]any) { putExtra(f, m.Extra) }
