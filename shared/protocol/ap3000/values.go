package ap3000

import (
	"encoding/binary"
	"time"
)

// OrderNo is the 16-byte order number. The server chooses it for online
// starts and the device returns it unchanged in 0x06 and 0x03; for offline
// starts the device composes it (ap3000.md §7.3, §8 start mode).
type OrderNo [16]byte

// String returns the order number as lowercase hex, as the vectors print it.
func (o OrderNo) String() string { return hexString(o[:]) }

// CardID is an M1 card's 4-byte UID as read (ap3000.md §7.1).
type CardID [4]byte

// String returns the UID bytes as lowercase hex in wire order.
func (c CardID) String() string { return hexString(c[:]) }

// Uint32 returns the UID read big-endian, the number printed in decimal
// (ap3000.md §7.1: 7A 8D 05 DD → 2056062429).
func (c CardID) Uint32() uint32 { return binary.BigEndian.Uint32(c[:]) }

// Temperature is a raw temperature byte: degrees Celsius + 65, with 0 meaning
// "no sensor" (ap3000.md §6, §7.1).
type Temperature uint8

// Celsius returns the temperature in °C and false if there is no sensor.
func (t Temperature) Celsius() (int, bool) {
	if t == 0 {
		return 0, false
	}
	return int(t) - 65, true
}

// BalanceOrExpiry is the 0x02-reply / 0x82 voice-prompt value: a balance in
// fen, or for monthly passes an expiry Unix time; values above 100000000 are
// read as a time (ap3000.md §7.3).
type BalanceOrExpiry uint32

// expiryThreshold separates balances from Unix times (ap3000.md §7.3).
const expiryThreshold = 100000000

// Balance returns the balance in fen, or false if the value is an expiry time.
func (v BalanceOrExpiry) Balance() (uint32, bool) {
	return uint32(v), v <= expiryThreshold
}

// Expiry returns the pass expiry, or false if the value is a balance.
func (v BalanceOrExpiry) Expiry() (time.Time, bool) {
	if v <= expiryThreshold {
		return time.Time{}, false
	}
	return unixTime(uint32(v)), true
}
