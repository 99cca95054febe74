package ap3000

// decodeBody decodes the data of a checked frame b (without its checksum;
// the data starts at HeaderSize) in the layout of direction dir. There is no
// lookup table: a switch keeps the package free of global state.
func decodeBody(cmd Command, dir Direction, b []byte) (Message, error) {
	if dir == Up {
		return decodeUp(cmd, b)
	}
	return decodeDown(cmd, b)
}

// asMessage turns a decoder's (*T, error) into (Message, error) without
// producing a non-nil interface that holds a nil pointer.
func asMessage[T Message](m T, err error) (Message, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

// decodeUp decodes device → server data (ap3000.md §7.1, and the device
// replies of §7.2).
func decodeUp(cmd Command, b []byte) (Message, error) {
	switch cmd {
	case CmdOldHeartbeat:
		return asMessage(decodeOldHeartbeat(b))
	case CmdCardSwipe:
		return asMessage(decodeCardSwipe(b))
	case CmdSettlement:
		return asMessage(decodeSettlement(b))
	case CmdOrderConfirm:
		return asMessage(decodeOrderConfirm(b))
	case CmdUpgradeRequest:
		return asMessage(decodeUpgradeRequest(b))
	case CmdPowerHeartbeat:
		return asMessage(decodePowerHeartbeat(b))
	case CmdRegister:
		return asMessage(decodeRegister(b))
	case CmdHeartbeat:
		return asMessage(decodeHeartbeat(b))
	case CmdTimeRequest:
		return asMessage(decodeTimeRequest(b))
	case CmdCabinetHeartbeat:
		return asMessage(decodeCabinetHeartbeat(b))
	case CmdAlarmPush:
		return asMessage(decodeAlarmPush(b))
	case CmdUnsettled:
		return asMessage(decodeUnsettled(b))
	case CmdPortPush:
		return asMessage(decodePortPush(b))
	case CmdCabinetStop:
		return asMessage(decodeCabinetStopReply(b))
	case CmdCharge:
		return asMessage(decodeChargeReply(b))
	case CmdChangeCharge:
		return asMessage(decodeChangeChargeReply(b))
	case CmdSetRunParams1:
		return asMessage(decodeSetRunParams1Reply(b))
	case CmdSetRunParams2:
		return asMessage(decodeSetRunParams2Reply(b))
	case CmdSetLimits:
		return asMessage(decodeSetLimitsReply(b))
	case CmdSetCardKeys:
		return asMessage(decodeSetCardKeysReply(b))
	case CmdReboot:
		return asMessage(decodeRebootReply(b))
	case CmdClearMemory:
		return asMessage(decodeClearMemoryReply(b))
	case CmdPlayVoice:
		return asMessage(decodePlayVoiceReply(b))
	case CmdReadEEPROM:
		return asMessage(decodeReadEEPROMReply(b))
	case CmdWriteEEPROM:
		return asMessage(decodeWriteEEPROMReply(b))
	case CmdSetWorkMode:
		return asMessage(decodeSetWorkModeReply(b))
	case CmdSetScreen:
		return asMessage(decodeSetScreenReply(b))
	case CmdSetCardTariffMode:
		return asMessage(decodeSetCardTariffModeReply(b))
	case CmdQueryRunParams1:
		return asMessage(decodeRunParams1Report(b))
	case CmdQueryRunParams2:
		return asMessage(decodeRunParams2Report(b))
	case CmdQueryLimits:
		return asMessage(decodeLimitsReport(b))
	case CmdQueryCardKeys:
		return asMessage(decodeCardKeysReport(b))
	case CmdTempQRCode:
		return asMessage(decodeTempQRCodeReply(b))
	case CmdLocate:
		return asMessage(decodeLocateReply(b))
	case CmdSetMute:
		return asMessage(decodeSetMuteReply(b))
	case CmdMultiFunction:
		return asMessage(decodeMultiFunctionReply(b))
	case CmdFirmwareSubUnit, CmdFirmwarePowerBoard, CmdFirmwareHost:
		return asMessage(decodeFirmwareReply(cmd, b))
	case CmdLegacyFirmware:
		return asMessage(decodeLegacyFirmwareReply(b))
	}
	// 0x81 and 0xE4 have no reply of their own (ap3000.md §5); anything else
	// is unknown to the guide.
	return &Raw{Cmd: cmd, Dir: Up, Data: rest(b, HeaderSize)}, nil
}

// decodeDown decodes server → device data (ap3000.md §7.2).
func decodeDown(cmd Command, b []byte) (Message, error) {
	switch cmd {
	case CmdOldHeartbeat:
		return asMessage(decodeOldHeartbeatReply(b))
	case CmdCardSwipe:
		return asMessage(decodeCardReply(b))
	case CmdSettlement:
		return asMessage(decodeSettlementReply(b))
	case CmdOrderConfirm:
		return asMessage(decodeOrderConfirmReply(b))
	case CmdRegister:
		return asMessage(decodeRegisterReply(b))
	case CmdHeartbeat:
		return asMessage(decodeHeartbeatReply(b))
	case CmdTimeRequest:
		return asMessage(decodeTimeReply(b))
	case CmdCabinetStop:
		return asMessage(decodeCabinetStop(b))
	case CmdQueryDevice:
		return asMessage(decodeQueryDevice(b))
	case CmdCharge:
		return asMessage(decodeCharge(b))
	case CmdSetRunParams1:
		return asMessage(decodeSetRunParams1(b))
	case CmdSetRunParams2:
		return asMessage(decodeSetRunParams2(b))
	case CmdSetLimits:
		return asMessage(decodeSetLimits(b))
	case CmdSetCardKeys:
		return asMessage(decodeSetCardKeys(b))
	case CmdReboot:
		return asMessage(decodeReboot(b))
	case CmdClearMemory:
		return asMessage(decodeClearMemory(b))
	case CmdPlayVoice:
		return asMessage(decodePlayVoice(b))
	case CmdChangeCharge:
		return asMessage(decodeChangeCharge(b))
	case CmdReadEEPROM:
		return asMessage(decodeReadEEPROM(b))
	case CmdWriteEEPROM:
		return asMessage(decodeWriteEEPROM(b))
	case CmdSetWorkMode:
		return asMessage(decodeSetWorkMode(b))
	case CmdSetScreen:
		return asMessage(decodeSetScreen(b))
	case CmdSetCardTariffMode:
		return asMessage(decodeSetCardTariffMode(b))
	case CmdQueryRunParams1:
		return asMessage(decodeQueryRunParams1(b))
	case CmdQueryRunParams2:
		return asMessage(decodeQueryRunParams2(b))
	case CmdQueryLimits:
		return asMessage(decodeQueryLimits(b))
	case CmdQueryCardKeys:
		return asMessage(decodeQueryCardKeys(b))
	case CmdTempQRCode:
		return asMessage(decodeTempQRCode(b))
	case CmdLocate:
		return asMessage(decodeLocate(b))
	case CmdSetMute:
		return asMessage(decodeSetMute(b))
	case CmdMultiFunction:
		return asMessage(decodeMultiFunction(b))
	case CmdFirmwareSubUnit, CmdFirmwarePowerBoard, CmdFirmwareHost:
		return asMessage(decodeFirmwarePacket(cmd, b))
	case CmdSelfUpgrade:
		return asMessage(decodeSelfUpgrade(b))
	case CmdLegacyFirmware:
		return asMessage(decodeLegacyFirmwarePacket(b))
	}
	// 0x05, 0x06 and 0x41–0x44 get no reply (ap3000.md §5); 0xFD/0xFE are
	// reserved; anything else is unknown to the guide.
	return &Raw{Cmd: cmd, Dir: Down, Data: rest(b, HeaderSize)}, nil
}
