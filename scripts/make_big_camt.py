#!/usr/bin/env python3
"""One large camt.053.001.02 statement and the same lines as payrecon's bank CSV.

Usage: make_big_camt.py ENTRIES OUT_XML OUT_CSV
For the bank benchmark (scripts/bench-bank.sh): a bank that puts a year of a busy account into
one statement file, to show that reading it keeps memory flat. Entries alternate payouts
naming Amazon Pay, card fees and other providers' payouts; ids are unique; the balances add up.
"""
import sys

n, xml_path, csv_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
refs = ["AMAZON PAYMENTS EUROPE S.C.A. {i}", "CARD FEES VISA MASTERCARD {i}",
        "STRIPE PAYMENTS UK LTD PAYOUT {i}", "AMAZON WEB SERVICES EMEA INVOICE {i}"]
opening = 1_000_000
total = 0
amounts = []
for i in range(n):
    a = (i * 7919) % 500_000 + 100
    if i % 4 in (1, 3):
        a = -a
    amounts.append(a)
    total += a


def money(v):
    return f"{abs(v) // 100}.{abs(v) % 100:02d}"


with open(xml_path, "w") as x, open(csv_path, "w") as c:
    c.write("booking_date,amount,currency,reference,bank_transaction_id\n")
    x.write('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">\n'
            '  <BkToCstmrStmt>\n    <GrpHdr><MsgId>BIG</MsgId><CreDtTm>2026-12-31T22:00:00</CreDtTm></GrpHdr>\n'
            '    <Stmt>\n      <Id>BIG-2026</Id>\n'
            '      <Acct><Id><IBAN>DE44500105175407324931</IBAN></Id><Ccy>EUR</Ccy></Acct>\n'
            f'      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{money(opening)}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-01</Dt></Dt></Bal>\n'
            f'      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{money(opening + total)}</Amt><CdtDbtInd>{"CRDT" if opening + total >= 0 else "DBIT"}</CdtDbtInd><Dt><Dt>2026-12-31</Dt></Dt></Bal>\n')
    for i, a in enumerate(amounts):
        day = f"2026-{1 + (i * 12) // n:02d}-{1 + (i % 28):02d}"
        ref = refs[i % 4].format(i=5044000000 + i)
        cd = "DBIT" if a < 0 else "CRDT"
        x.write(f'      <Ntry>\n        <Amt Ccy="EUR">{money(a)}</Amt>\n        <CdtDbtInd>{cd}</CdtDbtInd>\n'
                f'        <Sts>BOOK</Sts>\n        <BookgDt><Dt>{day}</Dt></BookgDt>\n'
                f'        <ValDt><Dt>{day}</Dt></ValDt>\n        <AcctSvcrRef>BIG{i:012d}</AcctSvcrRef>\n'
                f'        <NtryDtls><TxDtls><RmtInf><Ustrd>{ref}</Ustrd></RmtInf></TxDtls></NtryDtls>\n'
                '      </Ntry>\n')
        c.write(f'{day},{"-" if a < 0 else ""}{money(a)},EUR,{ref},BIG{i:012d}\n')
    x.write("    </Stmt>\n  </BkToCstmrStmt>\n</Document>\n")
