package ykc

import "fmt"

// Type is the frame type byte (ykc.md §2, §5). Odd types travel pile →
// platform, even types platform → pile.
type Type uint8

// Frame types (ykc.md §5). Reply pairs are noted on the request.
const (
	TypeLogin                      Type = 0x01 // reply TypeLoginResult
	TypeLoginResult                Type = 0x02
	TypeHeartbeat                  Type = 0x03 // reply TypeHeartbeatReply
	TypeHeartbeatReply             Type = 0x04
	TypeBillingModelCheck          Type = 0x05 // reply TypeBillingModelCheckResult
	TypeBillingModelCheckResult    Type = 0x06
	TypeBillingModelRequest        Type = 0x09 // reply TypeBillingModel
	TypeBillingModel               Type = 0x0A
	TypeReadRealtimeData           Type = 0x12 // reply TypeRealtimeData
	TypeRealtimeData               Type = 0x13
	TypeBMSHandshake               Type = 0x15
	TypeBMSParameters              Type = 0x17
	TypeChargeFinished             Type = 0x19
	TypeBMSError                   Type = 0x1B
	TypeBMSStop                    Type = 0x1D
	TypeChargerStop                Type = 0x21
	TypeBMSDemand                  Type = 0x23
	TypeBMSInfo                    Type = 0x25
	TypeStartRequest               Type = 0x31 // reply TypeStartAuthorization
	TypeStartAuthorization         Type = 0x32
	TypeRemoteStartResult          Type = 0x33
	TypeRemoteStart                Type = 0x34 // reply TypeRemoteStartResult
	TypeRemoteStopResult           Type = 0x35
	TypeRemoteStop                 Type = 0x36 // reply TypeRemoteStopResult
	TypeTransactionRecord          Type = 0x3B // reply TypeTransactionConfirm
	TypeTransactionConfirm         Type = 0x40
	TypeBalanceUpdateResult        Type = 0x41
	TypeBalanceUpdate              Type = 0x42 // reply TypeBalanceUpdateResult
	TypeCardSyncResult             Type = 0x43
	TypeCardSync                   Type = 0x44 // reply TypeCardSyncResult
	TypeCardClearResult            Type = 0x45
	TypeCardClear                  Type = 0x46 // reply TypeCardClearResult
	TypeCardQueryResult            Type = 0x47
	TypeCardQuery                  Type = 0x48 // reply TypeCardQueryResult
	TypeWorkParamsResult           Type = 0x51
	TypeWorkParams                 Type = 0x52 // reply TypeWorkParamsResult
	TypeTimeSyncResult             Type = 0x55
	TypeTimeSync                   Type = 0x56 // reply TypeTimeSyncResult
	TypeSetBillingModelResult      Type = 0x57
	TypeSetBillingModel            Type = 0x58 // reply TypeSetBillingModelResult
	TypeLockStatus                 Type = 0x61
	TypeLockControl                Type = 0x62 // reply TypeLockControlResult
	TypeLockControlResult          Type = 0x63
	TypeRebootResult               Type = 0x91
	TypeReboot                     Type = 0x92 // reply TypeRebootResult
	TypeUpgradeResult              Type = 0x93
	TypeUpgrade                    Type = 0x94 // reply TypeUpgradeResult
	TypeParallelStartRequest       Type = 0xA1 // reply TypeParallelStartAuthorization
	TypeParallelStartAuthorization Type = 0xA2
	TypeParallelRemoteStartResult  Type = 0xA3
	TypeParallelRemoteStart        Type = 0xA4 // reply TypeParallelRemoteStartResult
)

// String returns the type as the vectors print it: "0x3b".
func (t Type) String() string { return fmt.Sprintf("0x%02x", uint8(t)) }

// FromPile reports whether frames of this type travel pile → platform: odd
// types do, even types travel platform → pile (ykc.md §2). The spec's type
// table reverses 0xA3/0xA4; the odd/even rule and the section texts win
// (ykc.md §5, §11.5).
func (t Type) FromPile() bool { return t&1 == 1 }

// Known reports whether this package has a message type for t.
func (t Type) Known() bool {
	_, ok := bodySize(t)
	return ok
}

// sizeRule is the body size a frame type must have (ykc.md §5): fixed bytes,
// or fixed bytes plus per entries of each up to max entries (max 0: no limit
// beyond the one-byte length).
type sizeRule struct {
	fixed, per, max int
}

func (r sizeRule) fits(n int) bool {
	if r.per == 0 {
		return n == r.fixed
	}
	if n < r.fixed || (n-r.fixed)%r.per != 0 {
		return false
	}
	return r.max == 0 || (n-r.fixed)/r.per <= r.max
}

// bodySize returns the body size rule of a known plain frame type (ykc.md §5).
func bodySize(t Type) (sizeRule, bool) {
	n := 0
	switch t {
	case TypeBillingModelRequest:
		n = 7
	case TypeLoginResult, TypeReadRealtimeData, TypeRemoteStop,
		TypeWorkParamsResult, TypeSetBillingModelResult,
		TypeRebootResult, TypeReboot, TypeUpgradeResult:
		n = 8
	case TypeHeartbeat, TypeHeartbeatReply, TypeBillingModelCheck,
		TypeCardSyncResult, TypeWorkParams:
		n = 9
	case TypeBillingModelCheckResult, TypeRemoteStopResult:
		n = 10
	case TypeLockControl, TypeLockControlResult:
		n = 13
	case TypeTimeSyncResult, TypeTimeSync:
		n = 14
	case TypeBalanceUpdateResult, TypeLockStatus:
		n = 16
	case TypeTransactionConfirm:
		n = 17
	case TypeBalanceUpdate:
		n = 20
	case TypeRemoteStartResult:
		n = 26
	case TypeBMSStop, TypeChargerStop:
		n = 28
	case TypeLogin:
		n = 30
	case TypeBMSInfo:
		n = 31
	case TypeBMSError:
		n = 32
	case TypeParallelRemoteStartResult:
		n = 33
	case TypeStartAuthorization:
		n = 38
	case TypeChargeFinished:
		n = 39
	case TypeRemoteStart, TypeBMSDemand, TypeParallelStartAuthorization:
		n = 44
	case TypeBMSParameters:
		n = 45
	case TypeParallelRemoteStart:
		n = 50
	case TypeStartRequest:
		n = 51
	case TypeParallelStartRequest:
		n = 58
	case TypeRealtimeData:
		n = 60
	case TypeBMSHandshake:
		n = 73
	case TypeBillingModel, TypeSetBillingModel:
		n = 90
	case TypeUpgrade:
		n = 94
	case TypeTransactionRecord:
		n = 158
	case TypeCardSync:
		return sizeRule{fixed: 8, per: 16, max: 15}, true
	case TypeCardClearResult:
		return sizeRule{fixed: 7, per: 10}, true
	case TypeCardClear:
		return sizeRule{fixed: 8, per: 8, max: 24}, true
	case TypeCardQueryResult:
		return sizeRule{fixed: 7, per: 9}, true
	case TypeCardQuery:
		return sizeRule{fixed: 8, per: 8, max: 26}, true
	default:
		return sizeRule{}, false
	}
	return sizeRule{fixed: n}, true
}

// newMessage returns an empty message of a known type, nil for an unknown
// one.
func newMessage(t Type) Message {
	switch t {
	case TypeLogin:
		return &Login{}
	case TypeLoginResult:
		return &LoginResult{}
	case TypeHeartbeat:
		return &Heartbeat{}
	case TypeHeartbeatReply:
		return &HeartbeatReply{}
	case TypeBillingModelCheck:
		return &BillingModelCheck{}
	case TypeBillingModelCheckResult:
		return &BillingModelCheckResult{}
	case TypeBillingModelRequest:
		return &BillingModelRequest{}
	case TypeBillingModel:
		return &BillingModel{}
	case TypeReadRealtimeData:
		return &ReadRealtimeData{}
	case TypeRealtimeData:
		return &RealtimeData{}
	case TypeBMSHandshake:
		return &BMSHandshake{}
	case TypeBMSParameters:
		return &BMSParameters{}
	case TypeChargeFinished:
		return &ChargeFinished{}
	case TypeBMSError:
		return &BMSError{}
	case TypeBMSStop:
		return &BMSStop{}
	case TypeChargerStop:
		return &ChargerStop{}
	case TypeBMSDemand:
		return &BMSDemand{}
	case TypeBMSInfo:
		return &BMSInfo{}
	case TypeStartRequest:
		return &StartRequest{}
	case TypeStartAuthorization:
		return &StartAuthorization{}
	case TypeRemoteStartResult:
		return &RemoteStartResult{}
	case TypeRemoteStart:
		return &RemoteStart{}
	case TypeRemoteStopResult:
		return &RemoteStopResult{}
	case TypeRemoteStop:
		return &RemoteStop{}
	case TypeTransactionRecord:
		return &TransactionRecord{}
	case TypeTransactionConfirm:
		return &TransactionConfirm{}
	case TypeBalanceUpdateResult:
		return &BalanceUpdateResult{}
	case TypeBalanceUpdate:
		return &BalanceUpdate{}
	case TypeCardSyncResult:
		return &CardSyncResult{}
	case TypeCardSync:
		return &CardSync{}
	case TypeCardClearResult:
		return &CardClearResult{}
	case TypeCardClear:
		return &CardClear{}
	case TypeCardQueryResult:
		return &CardQueryResult{}
	case TypeCardQuery:
		return &CardQuery{}
	case TypeWorkParamsResult:
		return &WorkParamsResult{}
	case TypeWorkParams:
		return &WorkParams{}
	case TypeTimeSyncResult:
		return &TimeSyncResult{}
	case TypeTimeSync:
		return &TimeSync{}
	case TypeSetBillingModelResult:
		return &SetBillingModelResult{}
	case TypeSetBillingModel:
		return &SetBillingModel{}
	case TypeLockStatus:
		return &LockStatus{}
	case TypeLockControl:
		return &LockControl{}
	case TypeLockControlResult:
		return &LockControlResult{}
	case TypeRebootResult:
		return &RebootResult{}
	case TypeReboot:
		return &Reboot{}
	case TypeUpgradeResult:
		return &UpgradeResult{}
	case TypeUpgrade:
		return &Upgrade{}
	case TypeParallelStartRequest:
		return &ParallelStartRequest{}
	case TypeParallelStartAuthorization:
		return &ParallelStartAuthorization{}
	case TypeParallelRemoteStartResult:
		return &ParallelRemoteStartResult{}
	case TypeParallelRemoteStart:
		return &ParallelRemoteStart{}
	}
	return nil
}
