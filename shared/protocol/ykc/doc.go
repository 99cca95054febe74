// Package ykc is the wire codec for the YKC (云快充) platform protocol v1.6
// that EV DC and AC charging piles speak to the platform over one long-lived
// TCP connection.
//
// It owns framing, the CRC, and the decoding and encoding of every frame
// type of the protocol, in both directions. It does no I/O, keeps no state,
// reads no clock, starts no goroutines and does not log: bytes go in, values
// and an error come out. Turning messages into protocol-neutral events (Wh,
// W, minor currency units), deciding on replies and correlating sequence
// numbers belong to edge/adapter. Anything may import it; it imports only
// the standard library.
//
// The reference is shared/protocols/ykc.md beside this repository (section
// numbers in comments, "§n", point into it), with test vectors in
// shared/protocols/vectors/ykc.json, copied to testdata/vectors.json.
//
// # Three steps
//
// Split finds one frame at the start of a stream buffer (or says how many
// garbage bytes to skip), Decode turns it into a *Frame whose Body is one
// concrete struct per frame type (*Login, *Heartbeat, *RealtimeData,
// *TransactionRecord, …), and Append encodes a *Frame, computing length and
// CRC. Sniff tells the gateway whether a new connection speaks YKC. Inspect
// returns a frame's fields under the names the vectors and the
// frame-inspection tool use.
//
// # Frame layout (§2)
//
//	offset  size   field
//	0       1      start 0x68
//	1       1      length L = bytes of sequence + flag + type + body
//	2       2      sequence, little-endian; a reply echoes its request's (§4)
//	4       1      encryption flag: 0x00 plain, 0x01 3DES
//	5       1      frame type: odd pile → platform, even platform → pile (§5)
//	6       L−4    body (§6); its size is fixed per frame type (§5)
//	L+2     2      CRC-16/MODBUS over bytes 2 … L+1, low byte first
//
// A frame is L+4 bytes, 8 at least and MaxFrameSize (259) at most. BIN
// integers are little-endian, BCD ids are kept as digit strings (nibbles
// above 9 as a–f, so nothing is lost), ASCII fields are NUL-padded, and
// CP56Time2a times decode to time.Time (§3). Wire structs keep wire units:
// prices 0.00001 CNY/kWh (Price), amounts 0.0001 CNY (Amount), balances fen
// (Fen), energy 0.0001 kWh (Energy, Meter), voltages 0.1 V, currents 0.1 A
// (GB/T BMS currents with their −400 A offset), temperatures °C + 50
// (Temperature); only Inspect converts.
//
// Times: the pile's clock is a wall clock with no zone on the wire. Decode
// returns its fields as a time.Time in time.UTC without zone conversion
// (17:14:47 on the wire is 17:14:47 UTC); Append writes a time.Time's own
// wall-clock fields. An all-zero CP56Time2a is the zero time.Time.
//
// Unknown frame types decode to *Raw, keeping the body, so a newer pile
// never costs the connection. Encrypted frames (flag 0x01) also decode to
// *Raw with Frame.Encrypted set: the spec does not say how 3DES keys are
// handled, so bodies are kept encrypted.
//
// # Errors
//
// Every error from Split, Decode, Inspect and Append is an *Error carrying
// the byte offset and field name; its cause is one of the sentinels
// (ErrChecksum, ErrShortFrame, ErrBadHeader, ErrBadLength,
// ErrEncryptionFlag, ErrBadCount, ErrBadTime, ErrTooLarge, ErrDirection,
// ErrEncode). Reject codes the protocol defines are typed codes that
// implement error: AuthFailure (0x32), StartFailure (0x33), StopFailure
// (0x35).
//
// # Errors in the vendor documents, and how they are handled
//
// Where a device frame and the spec disagree, the frame wins. The spec's
// examples are kept as invalid vectors with corrected copies (§11):
//
//   - CRC: only the 0x02, 0x06, 0x32 and 0x94 examples have a correct CRC
//     (ykc-02-down-1, ykc-06-down-1, ykc-32-down-1, ykc-94-down-1); the
//     others are rejected with ErrChecksum (ykc-01-spec … ykc-a4-spec) and
//     decode once corrected (ykc-01-up-1 …).
//   - The spec names the polynomial 0x180D; it is CRC-16/MODBUS
//     (0x8005 / 0xA001), sent low byte first. A CRC sent high byte first
//     is rejected (ykc-bad-crcorder-1).
//   - The BMS examples print a 31-digit transaction number, so they are not
//     whole bytes (ykc-15-spec … ykc-25-spec); the tables' layouts are used
//     (ykc-15-up-1 … ykc-25-up-1).
//   - Wrong length bytes in the 0x41, 0x44–0x48, 0x62 and 0x63 examples,
//     0x61's missing lock-state byte and 0x45's missing clear flag
//     (ykc-41-spec, ykc-44-spec … ykc-48-spec, ykc-61-spec, ykc-62-spec,
//     ykc-63-spec): the length byte is checked against the type's body size
//     (§5) and the bytes; corrected in ykc-41-up-1, ykc-44-down-1 …
//   - 0xA2's example carries type 0x32 (ykc-a2-spec), and the type table
//     swaps the directions of 0xA3 and 0xA4: the odd/even rule is used
//     (ykc-a3-up-1, ykc-a4-down-1).
//   - Annotations that misread values: 0x58/0x0A prices (`9C 40 00 00` is
//     0.16540 CNY, ykc-0a-down-1, ykc-58-down-1), 0x13 voltage `02 00`
//     (0.2 V) and temperature `00` (−50 °C mechanically, ykc-13-up-1), 0x3B
//     trade flag 02 (card, not app; ykc-3b-up-1). Values follow the bytes.
//   - 0x32's transaction number breaks its own YYMMDDhhmmss rule
//     (ykc-32-down-1): transaction numbers are opaque digit strings.
//   - 0x52's example sets 0 % power below the stated 30 % minimum
//     (ykc-52-down-1): not range-checked.
//   - The seed project's login test has a 31-byte body (ykc-01-seedtest-bad):
//     rejected with ErrBadLength, a login body is 30 bytes.
//
// Bugs of ykc-proxy-server not copied (§12): the sequence is read as a full
// little-endian uint16; the login fields are read at their offsets; loss
// ratio, 0x40 result and 0x92 control are binary bytes, not ASCII digits;
// 0x34 balance and 0x19 fields are little-endian; CP56Time2a keeps seconds
// and milliseconds; 5-byte meter readings keep their top byte; the VIN is
// text, byte-reversed only in 0x31/0xA1.
package ykc
