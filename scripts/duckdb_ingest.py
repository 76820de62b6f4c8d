#!/usr/bin/env python3
"""DuckDB baseline for `payrecon ingest`: read the same generated files, write Parquet.

Usage: duckdb_ingest.py DATA_DIR OUT_DIR [THREADS]
Each kind is read with DuckDB's CSV/JSON readers and written to one Parquet file (zstd),
typed (timestamps, DECIMAL(18,2) money) but without payrecon's validation, rejects,
deduplication or latest-state merge: a lower bound for the same job. CSV columns are given
explicitly with auto-detection off (DuckDB's fastest CSV path; clean, non-messy files only).
"""
import os
import sys

import duckdb

data, out = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
os.makedirs(out, exist_ok=True)
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
money = "DECIMAL(18,2)"


def cols(*names):
    """An explicit all-VARCHAR column list: no per-file sniffing (DuckDB's fastest CSV path)."""
    return "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"


def csv(pattern, names, skip=0):
    return (f"read_csv('{data}/{pattern}', columns = {cols(*names)}, header = true, skip = {skip}, "
            f"auto_detect = false, quote = '\"', escape = '\"', delim = ',', null_padding = true)")


ORDERS = ["order_id", "created_at", "country", "device", "order_total", "currency", "status", "charge_permission_id"]
CHARGES = ["ChargeId", "ChargePermissionId", "MerchantReferenceId", "CreationTimestamp", "LastUpdatedTimestamp", "State",
           "ReasonCode", "ChargeAmount", "CaptureAmount", "RefundedAmount", "CurrencyCode", "SellerReferenceId", "ReleaseEnvironment"]
REFUNDS = ["RefundId", "ChargeId", "CreationTimestamp", "LastUpdatedTimestamp", "State", "ReasonCode", "RefundAmount", "CurrencyCode"]
LINES = ["TransactionPostedDate", "SettlementId", "AmazonTransactionId", "SellerReferenceId", "TransactionType",
         "AmazonOrderReferenceId", "SellerOrderId", "StoreName", "CurrencyCode", "TransactionDescription", "TransactionAmount",
         "TransactionPercentageFee", "TransactionFixedFee", "TotalTransactionFee", "NetTransactionAmount"]
DEPOSITS = ["booking_date", "amount", "currency", "reference", "bank_transaction_id"]


def copy(name, select):
    con.execute(f"COPY ({select}) TO '{out}/{name}.parquet' (FORMAT parquet, COMPRESSION zstd)")


copy("orders", f"""
  SELECT order_id, CAST(created_at AS TIMESTAMPTZ) AS created_at, upper(country) AS country,
         lower(device) AS device, CAST(replace(order_total, ',', '') AS {money}) AS order_total,
         currency, status, charge_permission_id
  FROM {csv('orders-*.csv', ORDERS)}""")
copy("charges_csv", f"""
  SELECT ChargeId, ChargePermissionId, MerchantReferenceId,
         CAST(CreationTimestamp AS TIMESTAMPTZ) AS CreationTimestamp,
         CAST(LastUpdatedTimestamp AS TIMESTAMPTZ) AS LastUpdatedTimestamp, State, ReasonCode,
         CAST(ChargeAmount AS {money}) AS ChargeAmount, CAST(CaptureAmount AS {money}) AS CaptureAmount,
         CAST(RefundedAmount AS {money}) AS RefundedAmount, CurrencyCode, SellerReferenceId
  FROM {csv('charges-*.csv', CHARGES)}""")
copy("charges_jsonl", f"""
  SELECT chargeId, chargePermissionId, merchantMetadata.merchantReferenceId AS merchantReferenceId,
         strptime(creationTimestamp, '%Y%m%dT%H%M%SZ') AS creationTimestamp,
         strptime(statusDetails.lastUpdatedTimestamp, '%Y%m%dT%H%M%SZ') AS lastUpdatedTimestamp,
         statusDetails.state AS state, statusDetails.reasonCode AS reasonCode,
         CAST(chargeAmount.amount AS {money}) AS chargeAmount,
         CAST(captureAmount.amount AS {money}) AS captureAmount, chargeAmount.currencyCode AS currency
  FROM read_json('{data}/charges-*.jsonl', format = 'newline_delimited')""")
copy("refunds", f"""
  SELECT RefundId, ChargeId, CAST(CreationTimestamp AS TIMESTAMPTZ) AS CreationTimestamp,
         CAST(LastUpdatedTimestamp AS TIMESTAMPTZ) AS LastUpdatedTimestamp, State,
         CAST(RefundAmount AS {money}) AS RefundAmount, CurrencyCode
  FROM {csv('refunds-*.csv', REFUNDS)}""")
copy("settlement_lines", f"""
  SELECT CAST(TransactionPostedDate AS TIMESTAMPTZ) AS TransactionPostedDate, SettlementId,
         AmazonTransactionId, SellerReferenceId, TransactionType, AmazonOrderReferenceId,
         SellerOrderId, StoreName, CurrencyCode, TransactionDescription,
         CAST(replace(TransactionAmount, ',', '') AS {money}) AS TransactionAmount,
         CAST(replace(NetTransactionAmount, ',', '') AS {money}) AS NetTransactionAmount
  FROM {csv('settlement-*.txt', LINES, skip=5)}""")
copy("deposits", f"""
  SELECT CAST(booking_date AS DATE) AS booking_date, CAST(replace(amount, ',', '') AS {money}) AS amount,
         currency, reference, bank_transaction_id
  FROM {csv('bank-*.csv', DEPOSITS)}""")
