package bkv_test

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
)

func ExampleDecode() {
	// A heartbeat from the vendor guide (§2.1.1).
	frame, _ := hex.DecodeString("fcfe002e0000000000000182200520004869383938363034363331313230373033313934313763562e31723436001fcafcee")

	f, err := bkv.Decode(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	hb := f.Body.(*bkv.Heartbeat)
	fmt.Println(f.Direction, f.GatewayID, hb.ICCID, hb.Firmware, hb.Signal)

	// The platform answers with its wall-clock time.
	reply, err := bkv.Append(nil, &bkv.Frame{
		Direction: bkv.Down,
		Command:   bkv.CommandHeartbeat,
		GatewayID: f.GatewayID,
		Body:      &bkv.HeartbeatReply{Time: time.Date(2020, 7, 30, 16, 45, 45, 0, time.UTC)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%x\n", reply)
	// Output:
	// up 82200520004869 89860463112070319417 cV.1r46 31
	// fcff0018000000000000008220052000486920200730164545a7fcee
}

func ExampleSplit() {
	// Two heartbeat replies and a stray byte, as one TCP read.
	buf, _ := hex.DecodeString("fcff0018000000000000008220052000486920200730164545a7fcee" + "41" +
		"fcff00180000000000000082241218000382202511241124132ffcee")
	for len(buf) > 0 {
		n, err := bkv.Split(buf)
		switch {
		case err != nil:
			fmt.Printf("skip %d bytes: %v\n", n, err)
		case n == 0:
			fmt.Println("need more bytes")
			return
		default:
			fmt.Printf("frame of %d bytes\n", n)
		}
		buf = buf[n:]
	}
	// Output:
	// frame of 28 bytes
	// skip 1 bytes: bkv: header at byte 0: bad header
	// frame of 28 bytes
}
