package ap3000

// Replies whose data is a single answer byte (ap3000.md §5 "Answer", §7.2
// "all other setters → answer 1"). Bytes after the answer are kept in Extra.

func decodeAnswer(b []byte) (uint8, []byte, error) {
	a, off, err := readU8(b, HeaderSize, "answer")
	if err != nil {
		return 0, nil, err
	}
	return a, rest(b, off), nil
}

func appendAnswer(dst []byte, a uint8, extra []byte) []byte {
	return append(append(dst, a), extra...)
}

func putAnswer(f map[string]any, a uint8, extra []byte) {
	f["answer"] = int(a)
	putExtra(f, extra)
}

// OldHeartbeatReply is the server's answer to OldHeartbeat (ap3000.md §7.2).
type OldHeartbeatReply struct {
	Answer Answer // 0 = received
	Extra  []byte
}

// Command returns CmdOldHeartbeat.
func (*OldHeartbeatReply) Command() Command { return CmdOldHeartbeat }

// Direction returns Down.
func (*OldHeartbeatReply) Direction() Direction { return Down }

func decodeOldHeartbeatReply(b []byte) (*OldHeartbeatReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &OldHeartbeatReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *OldHeartbeatReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *OldHeartbeatReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// RegisterReply is the server's answer to Register; until it arrives the device
// repeats 0x20 every heartbeat period (ap3000.md §7.2, §9).
type RegisterReply struct {
	Answer Answer // 0 = registered
	Extra  []byte
}

// Command returns CmdRegister.
func (*RegisterReply) Command() Command { return CmdRegister }

// Direction returns Down.
func (*RegisterReply) Direction() Direction { return Down }

func decodeRegisterReply(b []byte) (*RegisterReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &RegisterReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *RegisterReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *RegisterReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// HeartbeatReply is the server's answer to Heartbeat; two missed answers put the
// device offline (ap3000.md §7.2, §9).
type HeartbeatReply struct {
	Answer Answer // 0 = received
	Extra  []byte
}

// Command returns CmdHeartbeat.
func (*HeartbeatReply) Command() Command { return CmdHeartbeat }

// Direction returns Down.
func (*HeartbeatReply) Direction() Direction { return Down }

func decodeHeartbeatReply(b []byte) (*HeartbeatReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &HeartbeatReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *HeartbeatReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *HeartbeatReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// SettlementReply is the server's mandatory answer to Settlement; the device resends
// the settlement every 30 min until it arrives (ap3000.md §7.2, §9).
type SettlementReply struct {
	Answer Answer // 0 = settled
	Extra  []byte
}

// Command returns CmdSettlement.
func (*SettlementReply) Command() Command { return CmdSettlement }

// Direction returns Down.
func (*SettlementReply) Direction() Direction { return Down }

func decodeSettlementReply(b []byte) (*SettlementReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &SettlementReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *SettlementReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *SettlementReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// ChangeChargeReply is the device's answer to ChangeCharge (ap3000.md §7.2, §8 "0x8A answer").
type ChangeChargeReply struct {
	Answer ChangeResult // 0 ok, see ChangeResult
	Extra  []byte
}

// Command returns CmdChangeCharge.
func (*ChangeChargeReply) Command() Command { return CmdChangeCharge }

// Direction returns Up.
func (*ChangeChargeReply) Direction() Direction { return Up }

func decodeChangeChargeReply(b []byte) (*ChangeChargeReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &ChangeChargeReply{Answer: ChangeResult(a), Extra: extra}, nil
}

func (m *ChangeChargeReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *ChangeChargeReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// SetRunParams1Reply is the device's answer to SetRunParams1 (ap3000.md §5, §7.2).
type SetRunParams1Reply struct {
	Answer Answer // 1 = bad parameter
	Extra  []byte
}

// Command returns CmdSetRunParams1.
func (*SetRunParams1Reply) Command() Command { return CmdSetRunParams1 }

// Direction returns Up.
func (*SetRunParams1Reply) Direction() Direction { return Up }

func decodeSetRunParams1Reply(b []byte) (*SetRunParams1Reply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &SetRunParams1Reply{Answer: Answer(a), Extra: extra}, nil
}

func (m *SetRunParams1Reply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *SetRunParams1Reply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// SetRunParams2Reply is the device's answer to SetRunParams2 (ap3000.md §5, §7.2).
type SetRunParams2Reply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdSetRunParams2.
func (*SetRunParams2Reply) Command() Command { return CmdSetRunParams2 }

// Direction returns Up.
func (*SetRunParams2Reply) Direction() Direction { return Up }

func decodeSetRunParams2Reply(b []byte) (*SetRunParams2Reply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &SetRunParams2Reply{Answer: Answer(a), Extra: extra}, nil
}

func (m *SetRunParams2Reply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *SetRunParams2Reply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// SetLimitsReply is the device's answer to SetLimits (ap3000.md §5, §7.2).
type SetLimitsReply struct {
	Answer Answer // 1 = over the device limit
	Extra  []byte
}

// Command returns CmdSetLimits.
func (*SetLimitsReply) Command() Command { return CmdSetLimits }

// Direction returns Up.
func (*SetLimitsReply) Direction() Direction { return Up }

func decodeSetLimitsReply(b []byte) (*SetLimitsReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &SetLimitsReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *SetLimitsReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *SetLimitsReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// SetCardKeysReply is the device's answer to SetCardKeys (ap3000.md §5, §7.2).
type SetCardKeysReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdSetCardKeys.
func (*SetCardKeysReply) Command() Command { return CmdSetCardKeys }

// Direction returns Up.
func (*SetCardKeysReply) Direction() Direction { return Up }

func decodeSetCardKeysReply(b []byte) (*SetCardKeysReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &SetCardKeysReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *SetCardKeysReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *SetCardKeysReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// RebootReply is the device's (best-effort) answer to Reboot (ap3000.md §5, §7.2).
type RebootReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdReboot.
func (*RebootReply) Command() Command { return CmdReboot }

// Direction returns Up.
func (*RebootReply) Direction() Direction { return Up }

func decodeRebootReply(b []byte) (*RebootReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &RebootReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *RebootReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *RebootReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// ClearMemoryReply is the device's answer to ClearMemory (ap3000.md §5, §7.2).
type ClearMemoryReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdClearMemory.
func (*ClearMemoryReply) Command() Command { return CmdClearMemory }

// Direction returns Up.
func (*ClearMemoryReply) Direction() Direction { return Up }

func decodeClearMemoryReply(b []byte) (*ClearMemoryReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &ClearMemoryReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *ClearMemoryReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *ClearMemoryReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// PlayVoiceReply is the device's answer to PlayVoice (ap3000.md §5, §7.2).
type PlayVoiceReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdPlayVoice.
func (*PlayVoiceReply) Command() Command { return CmdPlayVoice }

// Direction returns Up.
func (*PlayVoiceReply) Direction() Direction { return Up }

func decodePlayVoiceReply(b []byte) (*PlayVoiceReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &PlayVoiceReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *PlayVoiceReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *PlayVoiceReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// WriteEEPROMReply is the device's answer to WriteEEPROM (ap3000.md §5, §7.2).
type WriteEEPROMReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdWriteEEPROM.
func (*WriteEEPROMReply) Command() Command { return CmdWriteEEPROM }

// Direction returns Up.
func (*WriteEEPROMReply) Direction() Direction { return Up }

func decodeWriteEEPROMReply(b []byte) (*WriteEEPROMReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &WriteEEPROMReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *WriteEEPROMReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *WriteEEPROMReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// SetWorkModeReply is the device's answer to SetWorkMode (ap3000.md §5,
// §7.2). The guide's example shows request and reply as the same bytes; that
// is valid, both are mode/answer 0 (ap3000.md §12.7, vector ap3000-8d-up-1).
type SetWorkModeReply struct {
	Answer Answer // 1 = unsupported
	Extra  []byte
}

// Command returns CmdSetWorkMode.
func (*SetWorkModeReply) Command() Command { return CmdSetWorkMode }

// Direction returns Up.
func (*SetWorkModeReply) Direction() Direction { return Up }

func decodeSetWorkModeReply(b []byte) (*SetWorkModeReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &SetWorkModeReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *SetWorkModeReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *SetWorkModeReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// SetScreenReply is the device's answer to SetScreen (ap3000.md §5, §7.2).
type SetScreenReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdSetScreen.
func (*SetScreenReply) Command() Command { return CmdSetScreen }

// Direction returns Up.
func (*SetScreenReply) Direction() Direction { return Up }

func decodeSetScreenReply(b []byte) (*SetScreenReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &SetScreenReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *SetScreenReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *SetScreenReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// SetCardTariffModeReply is the device's answer to SetCardTariffMode (ap3000.md §5, §7.2).
type SetCardTariffModeReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdSetCardTariffMode.
func (*SetCardTariffModeReply) Command() Command { return CmdSetCardTariffMode }

// Direction returns Up.
func (*SetCardTariffModeReply) Direction() Direction { return Up }

func decodeSetCardTariffModeReply(b []byte) (*SetCardTariffModeReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &SetCardTariffModeReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *SetCardTariffModeReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *SetCardTariffModeReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// TempQRCodeReply is the device's answer to TempQRCode (ap3000.md §5, §7.2).
type TempQRCodeReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdTempQRCode.
func (*TempQRCodeReply) Command() Command { return CmdTempQRCode }

// Direction returns Up.
func (*TempQRCodeReply) Direction() Direction { return Up }

func decodeTempQRCodeReply(b []byte) (*TempQRCodeReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &TempQRCodeReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *TempQRCodeReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *TempQRCodeReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// LocateReply is the device's answer to Locate (ap3000.md §5, §7.2).
type LocateReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdLocate.
func (*LocateReply) Command() Command { return CmdLocate }

// Direction returns Up.
func (*LocateReply) Direction() Direction { return Up }

func decodeLocateReply(b []byte) (*LocateReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &LocateReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *LocateReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *LocateReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// SetMuteReply is the device's answer to SetMute (ap3000.md §5, §7.2).
type SetMuteReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdSetMute.
func (*SetMuteReply) Command() Command { return CmdSetMute }

// Direction returns Up.
func (*SetMuteReply) Direction() Direction { return Up }

func decodeSetMuteReply(b []byte) (*SetMuteReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &SetMuteReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *SetMuteReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *SetMuteReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }

// MultiFunctionReply is the device's answer to MultiFunction (ap3000.md §5, §7.2).
type MultiFunctionReply struct {
	Answer Answer // 0 = success
	Extra  []byte
}

// Command returns CmdMultiFunction.
func (*MultiFunctionReply) Command() Command { return CmdMultiFunction }

// Direction returns Up.
func (*MultiFunctionReply) Direction() Direction { return Up }

func decodeMultiFunctionReply(b []byte) (*MultiFunctionReply, error) {
	a, extra, err := decodeAnswer(b)
	if err != nil {
		return nil, err
	}
	return &MultiFunctionReply{Answer: Answer(a), Extra: extra}, nil
}

func (m *MultiFunctionReply) appendData(dst []byte) ([]byte, error) {
	return appendAnswer(dst, uint8(m.Answer), m.Extra), nil
}

func (m *MultiFunctionReply) fields(f map[string]any) { putAnswer(f, uint8(m.Answer), m.Extra) }
