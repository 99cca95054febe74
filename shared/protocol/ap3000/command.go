package ap3000

import "fmt"

// Command is the command byte at offset 11 (ap3000.md §5).
type Command uint8

// Commands of the device–server guide (ap3000.md §5). 0x09 and 0x0A only run
// between sub-units and hosts, 0xFD and 0xFE are reserved placeholders, and
// 0x12 belongs to the separate host guide; all of them decode to *Raw.
const (
	CmdOldHeartbeat       Command = 0x01 // heartbeat (old), up
	CmdCardSwipe          Command = 0x02 // card swipe, up
	CmdSettlement         Command = 0x03 // settlement, up
	CmdOrderConfirm       Command = 0x04 // order confirmation (legacy), up
	CmdUpgradeRequest     Command = 0x05 // request upgrade, up
	CmdPowerHeartbeat     Command = 0x06 // charging power heartbeat, up
	CmdRegister           Command = 0x20 // register, up
	CmdHeartbeat          Command = 0x21 // heartbeat (new), up
	CmdTimeRequest        Command = 0x22 // get server time, up
	CmdCabinetHeartbeat   Command = 0x41 // cabinet heartbeat, up
	CmdAlarmPush          Command = 0x42 // alarm push, up
	CmdUnsettled          Command = 0x43 // finished, not settled, up
	CmdPortPush           Command = 0x44 // port push, up
	CmdCabinetStop        Command = 0x72 // cabinet stop, door stays shut, down
	CmdQueryDevice        Command = 0x81 // query device, down
	CmdCharge             Command = 0x82 // start / stop charging, down
	CmdSetRunParams1      Command = 0x83 // set run parameters 1.1, down
	CmdSetRunParams2      Command = 0x84 // set run parameters 1.2, down
	CmdSetLimits          Command = 0x85 // max time / power / voltage, down
	CmdSetCardKeys        Command = 0x86 // card keys, down
	CmdReboot             Command = 0x87 // reboot, down
	CmdClearMemory        Command = 0x88 // clear memory, down
	CmdPlayVoice          Command = 0x89 // play voice (reserved), down
	CmdChangeCharge       Command = 0x8A // change duration/energy, down
	CmdReadEEPROM         Command = 0x8B // read EEPROM, down
	CmdWriteEEPROM        Command = 0x8C // write EEPROM, down
	CmdSetWorkMode        Command = 0x8D // work mode, down
	CmdSetScreen          Command = 0x8E // QR content / main screen, down
	CmdSetCardTariffMode  Command = 0x8F // card-only tariff mode, down
	CmdQueryRunParams1    Command = 0x90 // query the 0x83 parameters, down
	CmdQueryRunParams2    Command = 0x91 // query the 0x84 parameters, down
	CmdQueryLimits        Command = 0x92 // query the 0x85 parameters, down
	CmdQueryCardKeys      Command = 0x93 // query the 0x86 parameters, down
	CmdTempQRCode         Command = 0x95 // temporary QR, down
	CmdLocate             Command = 0x96 // locate (sound + light), down
	CmdSetMute            Command = 0x97 // run parameters 1.3 (mute), down
	CmdMultiFunction      Command = 0x98 // multi-function, down
	CmdFirmwareSubUnit    Command = 0xE0 // firmware upgrade, sub-unit, down
	CmdFirmwarePowerBoard Command = 0xE1 // firmware upgrade, power board, down
	CmdFirmwareHost       Command = 0xE2 // firmware upgrade, host, down
	CmdSelfUpgrade        Command = 0xE4 // trigger self-upgrade, down
	CmdLegacyFirmware     Command = 0xF8 // firmware upgrade (legacy), down
)

// String returns the command as the vectors print it, e.g. "0x8a".
func (c Command) String() string { return fmt.Sprintf("0x%02x", uint8(c)) }

// initiator returns the direction in which cmd starts an exchange: devices
// send 0x01–0x06, 0x20–0x22 and 0x41–0x44; the server sends everything else
// (ap3000.md §5). The reply goes the other way.
func (c Command) initiator() Direction {
	switch c {
	case CmdOldHeartbeat, CmdCardSwipe, CmdSettlement, CmdOrderConfirm, CmdUpgradeRequest,
		CmdPowerHeartbeat, CmdRegister, CmdHeartbeat, CmdTimeRequest,
		CmdCabinetHeartbeat, CmdAlarmPush, CmdUnsettled, CmdPortPush:
		return Up
	}
	return Down
}
