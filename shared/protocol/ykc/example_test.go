package ykc_test

import (
	"encoding/hex"
	"fmt"

	"github.com/chargeplane/chargeplane/shared/protocol/ykc"
)

func ExampleDecode() {
	// A heartbeat from gun 01 of pile 32010200000001 (vector ykc-03-up-1).
	frame, _ := hex.DecodeString("680d00010003320102000000010100f11a")
	f, err := ykc.Decode(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	hb := f.Body.(*ykc.Heartbeat)
	fmt.Printf("type %v seq %d pile %s gun %s status %d\n", f.Type(), f.Seq, hb.PileCode, hb.Gun, hb.GunStatus)

	// The platform answers with the same sequence number (ykc.md §4).
	reply, err := ykc.Append(nil, &ykc.Frame{Seq: f.Seq, Body: &ykc.HeartbeatReply{PileCode: hb.PileCode, Gun: hb.Gun}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("reply % x\n", reply)
	// Output:
	// type 0x03 seq 256 pile 32010200000001 gun 01 status 0
	// reply 68 0d 00 01 00 04 32 01 02 00 00 00 01 01 00 40 c0
}
