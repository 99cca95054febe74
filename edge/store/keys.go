package store

import (
	"bytes"
	"encoding/binary"

	"google.golang.org/protobuf/encoding/protowire"
)

// Key layout, documented in doc.go. Changing any of it means raising
// layoutVersion and teaching checkVersion to migrate the older layout.
const (
	layoutVersion = 3

	keyVersion    = "meta/version"
	keySeq        = "meta/seq"
	keySpaceAlarm = "meta/space_alarm"
	outboxPrefix  = "outbox/"
	ledgerPrefix  = "ledger/"
	syncedPrefix  = "synced/"
	srefPrefix    = "sref/"
	// CtlPrefix starts every key of control's own state (Write.Put,
	// Write.Delete, Get, Scan). edge/control owns the layout below it.
	CtlPrefix = "ctl/"

	outboxKeyLen = len(outboxPrefix) + 8
	ledgerKeyLen = len(ledgerPrefix) + 8
	syncedKeyLen = len(syncedPrefix) + 8

	// syncedAtLen is the synced-at prefix of a synced/ value.
	syncedAtLen = 8

	// maxKeyLen is Badger's key size limit (badger Txn.modify). A longer key
	// would fail the committer's transaction and with it the store, so
	// Write refuses it up front.
	maxKeyLen = 65000
)

// seqField is Event.seq's field number; the committer appends it to the
// marshalled event (store_test checks it against the descriptor).
const seqField protowire.Number = 2

// maxSeqFieldLen is the longest encoding of the seq field: a one-byte tag and
// a varint of at most ten bytes.
const maxSeqFieldLen = 1 + binary.MaxVarintLen64

// metaSeqEntrySize is entrySize(len(keySeq), 8): the meta/seq entry's share
// of a transaction.
const metaSeqEntrySize = int64(len(keySeq)) + 8 + entryOverhead

// seqKey returns prefix followed by seq as 8 big-endian bytes.
func seqKey(prefix string, seq uint64) []byte {
	k := make([]byte, len(prefix)+8)
	copy(k, prefix)
	binary.BigEndian.PutUint64(k[len(prefix):], seq)
	return k
}

// parseSeqKey is the inverse of seqKey.
func parseSeqKey(prefix string, k []byte) (uint64, bool) {
	if len(k) != len(prefix)+8 || string(k[:len(prefix)]) != prefix {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(prefix):]), true
}

func outboxKey(seq uint64) []byte { return seqKey(outboxPrefix, seq) }
func ledgerKey(seq uint64) []byte { return seqKey(ledgerPrefix, seq) }
func syncedKey(seq uint64) []byte { return seqKey(syncedPrefix, seq) }

func parseOutboxKey(k []byte) (uint64, bool) { return parseSeqKey(outboxPrefix, k) }

// srefKey is the session-reference index key of a session: the charger id is
// length-prefixed (uvarint) so that no charger id, whatever bytes it holds,
// can make two sessions share a key; the connector is 4 big-endian bytes and
// the session reference takes the rest.
func srefKey(chargerID string, connector uint32, sessionRef string) []byte {
	k := make([]byte, 0, len(srefPrefix)+binary.MaxVarintLen64+len(chargerID)+4+len(sessionRef))
	k = append(k, srefPrefix...)
	k = binary.AppendUvarint(k, uint64(len(chargerID)))
	k = append(k, chargerID...)
	k = binary.BigEndian.AppendUint32(k, connector)
	return append(k, sessionRef...)
}

// isCtlKey reports whether k is a key of control's own state: CtlPrefix
// followed by at least one byte, within Badger's key size limit.
func isCtlKey(k []byte) bool {
	return len(k) > len(CtlPrefix) && len(k) <= maxKeyLen && bytes.HasPrefix(k, []byte(CtlPrefix))
}

func encodeUint64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, v)
}

// appendSeq appends the seq field to a marshalled Event that has none.
func appendSeq(b []byte, seq uint64) []byte {
	b = protowire.AppendTag(b, seqField, protowire.VarintType)
	return protowire.AppendVarint(b, seq)
}

// entrySize is an upper bound of what one entry adds to a Badger
// transaction's size (badger Txn.checkSize: key + value + 2 meta bytes + 10
// for the key's version; a value stored in the value log counts less).
func entrySize(keyLen, valLen int) int64 {
	return int64(keyLen) + int64(valLen) + entryOverhead
}

const entryOverhead = 2 + 10

func decodeUint64(b []byte) (uint64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}
