//! A day's files, written once no later order can add to them: orders, charges (CSV or JSON
//! Lines), refunds, settlement reports and the bank statement, with `--messy`'s quirks.

use super::*;

impl Gen {
    pub(super) fn flush_day(&mut self, day: i64) -> Result<(), GenerateError> {
        let mut buf = self.bufs.remove(&day).unwrap_or_default();
        let date = DateTime::<Utc>::from_timestamp(day * DAY, 0)
            .expect("in range")
            .date_naive();
        let label = date.format("%Y-%m-%d").to_string();
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.opts.seed ^ (day as u64).wrapping_mul(0x2545_F491_4F6C_DD1D),
        );
        let messy = self.opts.messy;
        if !buf.orders.is_empty() {
            buf.orders
                .sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
            let path = self.opts.out.join(format!("orders-{label}.csv"));
            self.write_orders(&path, &buf.orders, &mut rng)?;
        }
        if !buf.charges.is_empty() {
            buf.charges
                .sort_by(|a, b| (a.updated, &a.id).cmp(&(b.updated, &b.id)));
            self.summary.charge_rows += buf.charges.len() as u64;
            if day % 2 == 1 {
                let path = self.opts.out.join(format!("charges-{label}.jsonl"));
                self.write_charges_jsonl(&path, &buf.charges, &mut rng)?;
            } else {
                let path = self.opts.out.join(format!("charges-{label}.csv"));
                self.write_charges_csv(&path, &buf.charges, &mut rng)?;
            }
        }
        if !buf.refunds.is_empty() {
            buf.refunds
                .sort_by(|a, b| (a.updated, &a.id).cmp(&(b.updated, &b.id)));
            self.summary.refund_rows += buf.refunds.len() as u64;
            let jsonl = day % 3 == 0;
            let path = self.opts.out.join(format!(
                "refunds-{label}.{}",
                if jsonl { "jsonl" } else { "csv" }
            ));
            self.write_refunds(&path, &buf.refunds, jsonl, &mut rng)?;
        }
        let mut lines = std::mem::take(&mut buf.lines);
        for (currency, mut lines) in std::mem::take(&mut lines) {
            lines.sort_by(|a, b| (a.posted, &a.txn_id).cmp(&(b.posted, &b.txn_id)));
            if rng.random_bool(0.15) {
                let amount = rng.random_range(-500..500);
                lines.push(Line {
                    posted: day * DAY + 23 * HOUR,
                    txn_id: None,
                    seller_ref: None,
                    ttype: "Adjustment",
                    order_ref: None,
                    seller_order: None,
                    description: "Fee correction",
                    amount,
                    pct_fee: 0,
                    fixed_fee: 0,
                });
            }
            if messy && rng.random_bool(0.1) {
                lines.push(Line {
                    posted: day * DAY + 23 * HOUR + 30 * 60,
                    txn_id: None,
                    seller_ref: None,
                    ttype: "ServiceFee",
                    order_ref: None,
                    seller_order: None,
                    description: "Monthly service fee",
                    amount: 0,
                    pct_fee: 0,
                    fixed_fee: -100,
                });
            }
            self.settlement_seq += 1;
            let settlement_id = self.settlement_seq.to_string();
            let net: i64 = lines
                .iter()
                .map(|l| l.amount + l.pct_fee + l.fixed_fee)
                .sum();
            let end = (day + 1) * DAY;
            // A negative balance is collected by a debit of the merchant's account: a Transfer
            // whose bank line is money out (`reconciliation.md` layer 4, signed amounts).
            let (ttype, description) = if net > 0 {
                ("Transfer", "Transfer to bank account")
            } else if net < 0 {
                ("Transfer", "Debit from bank account")
            } else {
                ("Debt", "Balance repayment")
            };
            lines.push(Line {
                posted: end,
                txn_id: None,
                seller_ref: None,
                ttype,
                order_ref: None,
                seller_order: None,
                description,
                amount: -net,
                pct_fee: 0,
                fixed_fee: 0,
            });
            let company = match currency {
                Currency::USD | Currency::CAD => "AMAZON PAYMENTS INC",
                Currency::JPY => "AMAZON PAY JAPAN",
                _ => "AMAZON PAYMENTS EUROPE S.C.A.",
            };
            if net > 0 {
                let booked = day + 1 + rng.random_range(2..6);
                self.bank_seq += 1;
                let dep = Deposit {
                    id: format!("BT{:010}", self.bank_seq),
                    day: booked,
                    amount: net,
                    currency,
                    reference: format!("{company} {settlement_id}"),
                };
                self.buf(booked).deposits.push(dep);
            } else if net < 0 {
                // No draw from the day's stream (the rest of the data set stays as it was) and
                // ids of their own (`BD` + settlement number).
                let booked = day + 2 + (self.settlement_seq % 3) as i64;
                let dep = Deposit {
                    id: format!("BD{:010}", self.settlement_seq),
                    day: booked,
                    amount: net,
                    currency,
                    reference: format!("{company} DEBIT {settlement_id}"),
                };
                self.buf(booked).deposits.push(dep);
            }
            self.summary.settlements += 1;
            self.summary.settlement_lines += lines.len() as u64;
            let path = self
                .opts
                .out
                .join(format!("settlement-{label}-{currency}.txt"));
            let crlf = messy && rng.random_bool(0.3);
            self.write_settlement(
                &path,
                &settlement_id,
                day,
                currency,
                &lines,
                &mut rng,
                crlf,
                false,
            )?;
            if messy && !self.twice_done && day % 7 == 3 {
                // The same report downloaded twice (other line ends, so other bytes; same rows).
                let again = self
                    .opts
                    .out
                    .join(format!("settlement-{label}-{currency}-download2.txt"));
                self.write_settlement(
                    &again,
                    &settlement_id,
                    day,
                    currency,
                    &lines,
                    &mut rng,
                    !crlf,
                    true,
                )?;
                self.twice_done = true;
            }
        }
        // Unrelated bank lines, and the payouts booked today.
        let mut deposits = std::mem::take(&mut buf.deposits);
        for (i, (reference, lo, hi)) in [
            ("SEPA CT RENT OFFICE", -500_000, -400_000),
            ("CARD PROCESSOR PAYOUT 88231", 10_000, 900_000),
            ("PAYROLL", -2_000_000, -1_500_000),
            ("BANK FEES", -5_000, -500),
        ]
        .iter()
        .enumerate()
        {
            if rng.random_bool(if i == 1 { 0.8 } else { 0.15 }) {
                self.bank_seq += 1;
                deposits.push(Deposit {
                    id: format!("BT{:010}", self.bank_seq),
                    day,
                    amount: rng.random_range(*lo..*hi),
                    currency: Currency::USD,
                    reference: reference.to_string(),
                });
            }
        }
        // Lines a real statement has that name Amazon but not Amazon Pay, or another payment
        // provider: never exceptions. Their own random stream and ids, so the rest of the data
        // set does not change with them.
        let mut other = ChaCha8Rng::seed_from_u64(
            self.opts.seed ^ 0xB4A4_0000 ^ (day as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        for (i, (reference, lo, hi, p)) in [
            (
                "AMAZON WEB SERVICES AWS EMEA INVOICE EUINGB24-{n}",
                -90_000,
                -2_000,
                0.10,
            ),
            ("AMZN MKTP US*{n} AMZN.COM/BILL", -20_000, -1_000, 0.10),
            ("AMAZON MARKETPLACE EU SARL ORDER {n}", -30_000, -500, 0.05),
            ("STRIPE PAYMENTS UK LTD PAYOUT {n}", 5_000, 400_000, 0.30),
            ("PAYPAL EUROPE S.A.R.L. ET CIE {n}", 2_000, 150_000, 0.20),
            ("CARD FEES VISA MASTERCARD {n}", -8_000, -100, 0.20),
            ("SALARY {n} MONTHLY PAYROLL", -3_000_000, -1_000_000, 0.03),
        ]
        .iter()
        .enumerate()
        {
            if other.random_bool(*p) {
                let n = other.random_range(100_000..999_999u32);
                deposits.push(Deposit {
                    id: format!("BX{:04}{:06}", i, (day as u64 % 1_000_000)),
                    day,
                    amount: other.random_range(*lo..*hi),
                    currency: Currency::USD,
                    reference: reference.replace("{n}", &n.to_string()),
                });
            }
        }
        if !deposits.is_empty() {
            deposits.sort_by(|a, b| a.id.cmp(&b.id));
            let path = self.opts.out.join(format!(
                "bank-{label}.{}",
                self.opts.bank_format.extension()
            ));
            self.write_deposits(&path, date, &deposits, &mut rng)?;
        }
        Ok(())
    }

    fn file(&mut self, path: &Path) -> Result<BufWriter<File>, GenerateError> {
        self.summary.files += 1;
        Ok(BufWriter::with_capacity(
            1 << 20,
            File::create(path).map_err(io_err(path))?,
        ))
    }

    pub(super) fn done(&mut self, path: &Path, w: BufWriter<File>) -> Result<(), GenerateError> {
        let f = w.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.summary.bytes += f.metadata().map_err(io_err(path))?.len();
        Ok(())
    }

    /// Decides whether to damage a row (messy only) and how.
    fn damage(&mut self, rng: &mut ChaCha8Rng) -> Option<u32> {
        if self.opts.messy && rng.random_bool(0.0015) {
            self.summary.malformed_rows += 1;
            Some(rng.random_range(0..6))
        } else {
            None
        }
    }

    fn csv_writer(
        &self,
        w: BufWriter<File>,
        crlf: bool,
        always_quote: bool,
    ) -> csv::Writer<BufWriter<File>> {
        csv::WriterBuilder::new()
            .flexible(true)
            .terminator(if crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .quote_style(if always_quote {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .from_writer(w)
    }

    fn write_orders(
        &mut self,
        path: &Path,
        orders: &[OrderRow],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        let messy = self.opts.messy;
        let mut w = self.file(path)?;
        if messy {
            w.write_all(b"\xEF\xBB\xBF").map_err(io_err(path))?;
        }
        let mut c = self.csv_writer(w, messy, false);
        let mut header = vec![
            "order_id",
            "created_at",
            "country",
            "device",
            "order_total",
            "currency",
            "status",
            "charge_permission_id",
        ];
        if messy {
            header.push("customer_note");
        }
        c.write_record(&header).map_err(|e| csv_io(path, e))?;
        for o in orders {
            let mut total = format_minor(o.total, o.currency);
            if messy {
                total = group_thousands(&total);
            }
            let mut rec = vec![
                o.id.clone(),
                ts_form(o.created, if messy { rng.random_range(0..4) } else { 0 }),
                if messy && rng.random_bool(0.05) {
                    o.country.to_lowercase()
                } else {
                    o.country.to_string()
                },
                if messy && rng.random_bool(0.05) {
                    o.device.to_uppercase()
                } else {
                    o.device.to_string()
                },
                total,
                o.currency.to_string(),
                o.status.to_string(),
                o.permission.clone().unwrap_or_default(),
            ];
            if messy {
                rec.push(if rng.random_bool(0.1) {
                    "Leave at door, \"back\" entrance".into()
                } else {
                    String::new()
                });
            }
            match self.damage(rng) {
                Some(0) => rec[4] = "12.345".into(),
                Some(1) => rec[1] = "2026-13-45T99:00:00Z".into(),
                Some(2) => rec[5] = "XYZ".into(),
                Some(3) => rec[0] = String::new(),
                Some(4) => {
                    rec.pop();
                }
                Some(_) => rec[2] = "Narnia".into(),
                None => {}
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }

    fn write_charges_csv(
        &mut self,
        path: &Path,
        rows: &[ChargeRow],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        let messy = self.opts.messy;
        let w = self.file(path)?;
        let mut c = self.csv_writer(w, messy && rng.random_bool(0.5), false);
        let mut header = vec![
            "ChargeId",
            "ChargePermissionId",
            "MerchantReferenceId",
            "CreationTimestamp",
            "LastUpdatedTimestamp",
            "State",
            "ReasonCode",
            "ChargeAmount",
            "CaptureAmount",
            "RefundedAmount",
            "CurrencyCode",
            "SellerReferenceId",
            "ReleaseEnvironment",
        ];
        if messy {
            header.insert(5, "SoftDescriptor");
        }
        c.write_record(&header).map_err(|e| csv_io(path, e))?;
        for r in rows {
            let form = if messy { rng.random_range(0..5) } else { 0 };
            let mut rec = vec![
                r.id.clone(),
                r.permission.clone(),
                r.merchant_ref.clone().unwrap_or_default(),
                ts_form(r.created, form),
                ts_form(r.updated, form),
                r.state.to_string(),
                r.reason.unwrap_or("").to_string(),
                format_minor(r.amount, r.currency),
                r.capture
                    .map(|v| format_minor(v, r.currency))
                    .unwrap_or_default(),
                r.refunded
                    .map(|v| format_minor(v, r.currency))
                    .unwrap_or_default(),
                r.currency.to_string(),
                r.seller_ref.clone(),
                "Live".to_string(),
            ];
            match self.damage(rng) {
                Some(0) => rec[7] = "49.999".into(),
                Some(1) => rec[4] = "yesterday".into(),
                Some(2) => rec[10] = "EURO".into(),
                Some(3) => rec[0] = String::new(),
                Some(4) => rec[5] = "Settled".into(),
                Some(_) => {
                    rec.pop();
                }
                None => {}
            }
            if messy {
                rec.insert(5, "AMZ*ExampleStore".into());
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }

    fn write_charges_jsonl(
        &mut self,
        path: &Path,
        rows: &[ChargeRow],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        let mut w = self.file(path)?;
        for r in rows {
            let price = |v: Option<i64>| -> serde_json::Value {
                match v {
                    Some(v) => {
                        serde_json::json!({"amount": format_minor(v, r.currency), "currencyCode": r.currency.code()})
                    }
                    None => serde_json::Value::Null,
                }
            };
            let mut obj = serde_json::json!({
                "chargeId": r.id,
                "chargePermissionId": r.permission,
                "chargeAmount": price(Some(r.amount)),
                "captureAmount": price(r.capture),
                "refundedAmount": price(r.refunded.or(r.capture.map(|_| 0))),
                "convertedAmount": null,
                "softDescriptor": "AMZ*ExampleStore",
                "merchantMetadata": {"merchantReferenceId": r.merchant_ref, "merchantStoreName": self.opts.store, "noteToBuyer": null, "customInformation": null},
                "statusDetails": {"state": r.state, "reasonCode": r.reason, "reasonDescription": r.reason.map(|_| "See reasonCode"), "lastUpdatedTimestamp": ts_form(r.updated, 5)},
                "creationTimestamp": ts_form(r.created, 5),
                "expirationTimestamp": ts_form(r.created + 30 * DAY, 5),
                "releaseEnvironment": "Live",
            });
            let mut line = serde_json::to_string(&obj).expect("json");
            match self.damage(rng) {
                Some(0) => line.truncate(line.len() / 2),
                Some(1) => {
                    obj["chargeAmount"]["amount"] = serde_json::json!(12.5);
                    line = serde_json::to_string(&obj).expect("json");
                }
                Some(2) => {
                    obj["statusDetails"]["state"] = serde_json::json!("Pending");
                    line = serde_json::to_string(&obj).expect("json");
                }
                Some(3) => {
                    obj["creationTimestamp"] = serde_json::json!("not a time");
                    line = serde_json::to_string(&obj).expect("json");
                }
                Some(_) => {
                    obj["chargeId"] = serde_json::Value::Null;
                    line = serde_json::to_string(&obj).expect("json");
                }
                None => {}
            }
            w.write_all(line.as_bytes()).map_err(io_err(path))?;
            w.write_all(b"\n").map_err(io_err(path))?;
        }
        self.done(path, w)
    }

    fn write_refunds(
        &mut self,
        path: &Path,
        rows: &[RefundRow],
        jsonl: bool,
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        if jsonl {
            let mut w = self.file(path)?;
            for r in rows {
                let obj = serde_json::json!({
                    "refundId": r.id,
                    "chargeId": r.charge_id,
                    "refundAmount": {"amount": format_minor(r.amount, r.currency), "currencyCode": r.currency.code()},
                    "softDescriptor": "AMZ*ExampleStore",
                    "creationTimestamp": ts_form(r.created, 5),
                    "statusDetails": {"state": r.state, "reasonCode": r.reason, "reasonDescription": null, "lastUpdatedTimestamp": ts_form(r.updated, 5)},
                    "releaseEnvironment": "Live",
                });
                let mut line = serde_json::to_string(&obj).expect("json");
                if self.damage(rng).is_some() {
                    line = line.replace(
                        "\"refundAmount\":{\"amount\":\"",
                        "\"refundAmount\":{\"amount\":\"-x",
                    );
                }
                w.write_all(line.as_bytes()).map_err(io_err(path))?;
                w.write_all(b"\n").map_err(io_err(path))?;
            }
            return self.done(path, w);
        }
        let w = self.file(path)?;
        let mut c = self.csv_writer(w, false, false);
        c.write_record([
            "RefundId",
            "ChargeId",
            "CreationTimestamp",
            "LastUpdatedTimestamp",
            "State",
            "ReasonCode",
            "RefundAmount",
            "CurrencyCode",
        ])
        .map_err(|e| csv_io(path, e))?;
        for r in rows {
            let mut rec = vec![
                r.id.clone(),
                r.charge_id.clone(),
                ts_form(r.created, 0),
                ts_form(r.updated, 0),
                r.state.to_string(),
                r.reason.unwrap_or("").to_string(),
                format_minor(r.amount, r.currency),
                r.currency.to_string(),
            ];
            if self.damage(rng).is_some() {
                rec[4] = "Done".into();
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_settlement(
        &mut self,
        path: &Path,
        id: &str,
        day: i64,
        currency: Currency,
        lines: &[Line],
        rng: &mut ChaCha8Rng,
        crlf: bool,
        redownload: bool,
    ) -> Result<(), GenerateError> {
        let messy = self.opts.messy;
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut w = self.file(path)?;
        let space = messy && rng.random_bool(0.5);
        let hts = |t: i64| settlement_ts(t, space);
        let header = [
            ("SellerId", self.seller_id.clone()),
            ("SettlementStartDate", hts(day * DAY)),
            ("SettlementEndDate", hts((day + 1) * DAY)),
            ("DepositDate", hts((day + 3) * DAY)),
        ];
        for (k, v) in &header {
            write!(w, "\"{k}\",\"{v}\"").map_err(io_err(path))?;
            w.write_all(eol).map_err(io_err(path))?;
        }
        w.write_all(eol).map_err(io_err(path))?;
        let mut c = csv::WriterBuilder::new()
            .terminator(if crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(w);
        c.write_record([
            "TransactionPostedDate",
            "SettlementId",
            "AmazonTransactionId",
            "SellerReferenceId",
            "TransactionType",
            "AmazonOrderReferenceId",
            "SellerOrderId",
            "StoreName",
            "CurrencyCode",
            "TransactionDescription",
            "TransactionAmount",
            "TransactionPercentageFee",
            "TransactionFixedFee",
            "TotalTransactionFee",
            "NetTransactionAmount",
        ])
        .map_err(|e| csv_io(path, e))?;
        let store = if messy {
            format!("{}, Inc.", self.opts.store)
        } else {
            self.opts.store.clone()
        };
        for l in lines {
            let money = |v: i64| {
                let s = format_minor(v, currency);
                if messy { group_thousands(&s) } else { s }
            };
            let total_fee = l.pct_fee + l.fixed_fee;
            let mut rec = vec![
                settlement_ts(l.posted, space),
                id.to_string(),
                l.txn_id.clone().unwrap_or_default(),
                l.seller_ref.clone().unwrap_or_default(),
                l.ttype.to_string(),
                l.order_ref.clone().unwrap_or_default(),
                l.seller_order.clone().unwrap_or_default(),
                store.clone(),
                currency.to_string(),
                l.description.to_string(),
                money(l.amount),
                money(l.pct_fee),
                money(l.fixed_fee),
                money(total_fee),
                money(l.amount + total_fee),
            ];
            if !redownload && l.ttype != "Transfer" {
                match self.damage(rng) {
                    Some(0) => rec[10] = "1.2.3".into(),
                    Some(1) => rec[0] = "2026-10-32T00:00:00-0000".into(),
                    Some(2) => rec[8] = String::new(),
                    _ => {}
                }
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }

    fn write_deposits(
        &mut self,
        path: &Path,
        date: NaiveDate,
        rows: &[Deposit],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        // Damage is drawn for every row in order, whatever the format: the rest of the data
        // set stays the same in every format.
        let damaged: Vec<bool> = rows.iter().map(|_| self.damage(rng).is_some()).collect();
        self.summary.deposit_rows += rows.len() as u64;
        let mut w = self.file(path)?;
        if self.opts.bank_format != BankFormat::Csv {
            let mut accounts: BTreeMap<Currency, bank::Account<'_>> = BTreeMap::new();
            for (d, damaged) in rows.iter().zip(&damaged) {
                let opening = *self.bank_balances.get(&d.currency).unwrap_or(&1_000_000);
                accounts
                    .entry(d.currency)
                    .or_insert_with(|| bank::Account {
                        currency: d.currency,
                        opening,
                        lines: Vec::new(),
                    })
                    .lines
                    .push(bank::Line {
                        id: &d.id,
                        amount: d.amount,
                        reference: &d.reference,
                        damaged: *damaged,
                    });
            }
            for a in accounts.values() {
                let close = a.opening + a.lines.iter().map(|l| l.amount).sum::<i64>();
                self.bank_balances.insert(a.currency, close);
            }
            let accounts: Vec<bank::Account<'_>> = accounts.into_values().collect();
            bank::write(self.opts.bank_format, &mut w, date, &accounts).map_err(io_err(path))?;
            return self.done(path, w);
        }
        let mut c = self.csv_writer(w, false, false);
        c.write_record([
            "booking_date",
            "amount",
            "currency",
            "reference",
            "bank_transaction_id",
        ])
        .map_err(|e| csv_io(path, e))?;
        for (d, damaged) in rows.iter().zip(damaged) {
            let date = DateTime::<Utc>::from_timestamp(d.day * DAY, 0)
                .expect("in range")
                .format("%Y-%m-%d")
                .to_string();
            let mut rec = vec![
                date,
                format_minor(d.amount, d.currency),
                d.currency.to_string(),
                d.reference.clone(),
                d.id.clone(),
            ];
            if self.opts.messy {
                rec[1] = group_thousands(&rec[1]);
            }
            if damaged {
                rec[0] = "05/10/2026".into();
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }
}

fn csv_io(path: &Path, e: csv::Error) -> GenerateError {
    GenerateError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

/// A timestamp in one of the forms Amazon Pay emits.
fn ts_form(t: i64, form: u32) -> String {
    let dt = DateTime::<Utc>::from_timestamp(t, 0).expect("in range");
    match form {
        0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        1 => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        2 => dt
            .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).expect("offset"))
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        3 => dt
            .with_timezone(&chrono::FixedOffset::west_opt(7 * 3600).expect("offset"))
            .format("%Y-%m-%dT%H:%M:%S%z")
            .to_string(),
        4 => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
        _ => dt.format("%Y%m%dT%H%M%SZ").to_string(),
    }
}

fn settlement_ts(t: i64, space: bool) -> String {
    let dt = DateTime::<Utc>::from_timestamp(t, 0).expect("in range");
    if space {
        dt.format("%Y-%m-%dT%H:%M:%S +0000").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S-0000").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_and_timestamp_forms_parse_back() {
        let t = 1_790_000_000;
        for form in 0..6 {
            let s = ts_form(t, form);
            let back = crate::model::time::parse_timestamp(&s).unwrap();
            assert_eq!(back.timestamp(), t, "{s}");
        }
        for space in [false, true] {
            let back = crate::model::time::parse_timestamp(&settlement_ts(t, space)).unwrap();
            assert_eq!(back.timestamp(), t);
        }
    }
}
