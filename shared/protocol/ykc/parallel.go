package ykc

// Parallel charging (ykc.md §6 0xA1–0xA4): two guns charge one vehicle. Each
// message is its single-gun counterpart (0x31–0x34) followed, in 0xA1 and
// 0xA3, by a gun role byte, and in all four by a 6-byte BCD parallel-charge
// id YYMMDDhhmmss. The spec's type table gives 0xA3 as platform → pile and
// 0xA4 as pile → platform; the odd/even rule and the section texts say the
// opposite, which is used here (§5, §11.5, vectors ykc-a3-spec, ykc-a4-spec).

// ParallelStartRequest is the pile asking to start parallel charging, 0xA1
// up (ykc.md §6 0xA1).
type ParallelStartRequest struct {
	StartRequest StartRequest
	GunRole      uint8  // 0 main, 1 secondary
	ParallelNo   string // 6 BCD
}

// FrameType returns TypeParallelStartRequest.
func (*ParallelStartRequest) FrameType() Type { return TypeParallelStartRequest }

// decodeBody reads 0x31's 51 bytes, gun role, parallel id (58 bytes).
func (m *ParallelStartRequest) decodeBody(b []byte, off int) (int, error) {
	var err error
	if off, err = m.StartRequest.decodeBody(b, off); err != nil {
		return off, err
	}
	if m.GunRole, off, err = readU8(b, off, "gun_role"); err != nil {
		return off, err
	}
	m.ParallelNo, off, err = readBCD(b, off, parallelNoSize, "parallel_no")
	return off, err
}

func (m *ParallelStartRequest) appendBody(w *writer) {
	m.StartRequest.appendBody(w)
	w.u8(m.GunRole)
	w.bcd(m.ParallelNo, parallelNoSize, "parallel_no")
}

func (m *ParallelStartRequest) fields(f map[string]any) {
	m.StartRequest.fields(f)
	f["gun_role"] = int(m.GunRole)
	f["parallel_no"] = m.ParallelNo
}

// ParallelStartAuthorization answers ParallelStartRequest, 0xA2 down
// (ykc.md §6 0xA2). The spec's example carries frame type 0x32 (vector
// ykc-a2-spec, §11.5).
type ParallelStartAuthorization struct {
	StartAuthorization StartAuthorization
	ParallelNo         string // 6 BCD
}

// FrameType returns TypeParallelStartAuthorization.
func (*ParallelStartAuthorization) FrameType() Type { return TypeParallelStartAuthorization }

// decodeBody reads 0x32's 38 bytes, parallel id (44 bytes).
func (m *ParallelStartAuthorization) decodeBody(b []byte, off int) (int, error) {
	var err error
	if off, err = m.StartAuthorization.decodeBody(b, off); err != nil {
		return off, err
	}
	m.ParallelNo, off, err = readBCD(b, off, parallelNoSize, "parallel_no")
	return off, err
}

func (m *ParallelStartAuthorization) appendBody(w *writer) {
	m.StartAuthorization.appendBody(w)
	w.bcd(m.ParallelNo, parallelNoSize, "parallel_no")
}

func (m *ParallelStartAuthorization) fields(f map[string]any) {
	m.StartAuthorization.fields(f)
	f["parallel_no"] = m.ParallelNo
}

// ParallelRemoteStart starts parallel charging from the platform, 0xA4 down
// (ykc.md §6 0xA4).
type ParallelRemoteStart struct {
	RemoteStart RemoteStart
	ParallelNo  string // 6 BCD
}

// FrameType returns TypeParallelRemoteStart.
func (*ParallelRemoteStart) FrameType() Type { return TypeParallelRemoteStart }

// decodeBody reads 0x34's 44 bytes, parallel id (50 bytes).
func (m *ParallelRemoteStart) decodeBody(b []byte, off int) (int, error) {
	var err error
	if off, err = m.RemoteStart.decodeBody(b, off); err != nil {
		return off, err
	}
	m.ParallelNo, off, err = readBCD(b, off, parallelNoSize, "parallel_no")
	return off, err
}

func (m *ParallelRemoteStart) appendBody(w *writer) {
	m.RemoteStart.appendBody(w)
	w.bcd(m.ParallelNo, parallelNoSize, "parallel_no")
}

func (m *ParallelRemoteStart) fields(f map[string]any) {
	m.RemoteStart.fields(f)
	f["parallel_no"] = m.ParallelNo
}

// ParallelRemoteStartResult answers ParallelRemoteStart, 0xA3 up
// (ykc.md §6 0xA3).
type ParallelRemoteStartResult struct {
	RemoteStartResult RemoteStartResult
	GunRole           uint8  // 0 main, 1 secondary
	ParallelNo        string // 6 BCD
}

// FrameType returns TypeParallelRemoteStartResult.
func (*ParallelRemoteStartResult) FrameType() Type { return TypeParallelRemoteStartResult }

// decodeBody reads 0x33's 26 bytes, gun role, parallel id (33 bytes).
func (m *ParallelRemoteStartResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	if off, err = m.RemoteStartResult.decodeBody(b, off); err != nil {
		return off, err
	}
	if m.GunRole, off, err = readU8(b, off, "gun_role"); err != nil {
		return off, err
	}
	m.ParallelNo, off, err = readBCD(b, off, parallelNoSize, "parallel_no")
	return off, err
}

func (m *ParallelRemoteStartResult) appendBody(w *writer) {
	m.RemoteStartResult.appendBody(w)
	w.u8(m.GunRole)
	w.bcd(m.ParallelNo, parallelNoSize, "parallel_no")
}

func (m *ParallelRemoteStartResult) fields(f map[string]any) {
	m.RemoteStartResult.fields(f)
	f["gun_role"] = int(m.GunRole)
	f["parallel_no"] = m.ParallelNo
}
