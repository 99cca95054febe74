package store

import (
	"encoding/binary"

	"google.golang.org/protobuf/encoding/protowire"
)

// Key layout, documented in doc.go. Changing any of it means raising
// layoutVersion.
const (
	layoutVersion = 1

	keyVersion   = "meta/version"
	keySeq       = "meta/seq"
	outboxPrefix = "outbox/"

	outboxKeyLen = len(outboxPrefix) + 8
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

func outboxKey(seq uint64) []byte {
	k := make([]byte, outboxKeyLen)
	copy(k, outboxPrefix)
	binary.BigEndian.PutUint64(k[len(outboxPrefix):], seq)
	return k
}

func parseOutboxKey(k []byte) (uint64, bool) {
	if len(k) != outboxKeyLen || string(k[:len(outboxPrefix)]) != outboxPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(outboxPrefix):]), true
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
