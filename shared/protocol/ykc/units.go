package ykc

// Wire units. YKC sends decimals as integers × 10^d (ykc.md §3 "BIN"); wire
// structs keep those integers and only Inspect converts them to the units the
// vectors print. Conversion to protocol-neutral units (Wh, W, minor currency
// units) belongs to edge/adapter.

// Price is a tariff in 0.00001 CNY/kWh: 4 bytes BIN with 5 decimals
// (ykc.md §6 0x0A, 0x3B; `40 0D 03 00` = 200000 = 2.00000 CNY/kWh).
type Price uint32

// Amount is money in 0.0001 CNY (1/100 fen): 4 bytes BIN with 4 decimals
// (ykc.md §6 0x13, 0x3B).
type Amount uint32

// Fen is money in 0.01 CNY: 4 bytes BIN with 2 decimals, used for balances
// (ykc.md §6 0x32, 0x34, 0x42; `A0 86 01 00` = 100000 fen = 1000.00 CNY).
type Fen uint32

// Energy is energy in 0.0001 kWh (0.1 Wh): 4 bytes BIN with 4 decimals
// (ykc.md §6 0x13, 0x3B).
type Energy uint32

// Meter is a meter reading in 0.0001 kWh: 5 bytes BIN with 4 decimals
// (ykc.md §6 0x3B).
type Meter uint64

// Temperature is a temperature byte: °C + 50 (ykc.md §6 0x13, and the GB/T
// 27930 BMS messages). A raw 0 in 0x13 means "no reading" (AC piles, idle
// guns) although it reads as −50 °C (ykc.md §6 0x13).
type Temperature uint8

// Celsius returns the temperature in °C (raw − 50).
func (t Temperature) Celsius() int { return int(t) - 50 }
