// Loads every idl/*.json with @coral-xyz/anchor and checks its coders against the Rust side.
//
//   node idl/check/check.mjs <fixture dir>
//
// The fixture (written by tests/tests/idl_clients.rs) holds instructions built by the Rust
// builders (programs/*/src/sdk.rs) with their arguments and named accounts, and raw account
// bytes with the field values Rust decoded from them. For each instruction this encodes the
// data with the IDL's BorshCoder and builds the whole instruction through `Program.methods`
// (accountsStrict + remainingAccounts), and asserts both equal the Rust bytes and metas. For
// each account it decodes the bytes with the IDL's account coder and asserts every field.
import anchor from "@coral-xyz/anchor";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const { AnchorProvider, BN, BorshCoder, Program, web3 } = anchor;
const idlDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const fixtureDir = process.argv[2];
if (!fixtureDir) {
  console.error("usage: node check.mjs <fixture dir>");
  process.exit(2);
}

// ---- IDLs ----

const idls = {};
for (const file of fs.readdirSync(idlDir).filter((f) => f.endsWith(".json")).sort()) {
  const idl = JSON.parse(fs.readFileSync(path.join(idlDir, file), "utf8"));
  assert.equal(idl.metadata?.spec, "0.1.0", `${file}: IDL spec`);
  const coder = new BorshCoder(idl); // throws if a type cannot be laid out
  // Program converts the IDL to camelCase, as a TypeScript client sees it; no RPC is used.
  const wallet = { publicKey: web3.PublicKey.default, signTransaction: async (t) => t, signAllTransactions: async (t) => t };
  const provider = new AnchorProvider(new web3.Connection("http://127.0.0.1:8899"), wallet, {});
  const program = new Program(idl, provider);
  for (const account of idl.accounts ?? []) coder.accounts.size(account.name); // every account has a layout
  idls[idl.metadata.name] = { idl, coder, program };
  console.log(`loaded idl/${file}: ${idl.metadata.name} ${idl.address}, ${idl.instructions.length} instructions, ${(idl.accounts ?? []).length} accounts`);
}

// ---- fixture values -> the objects the TS coders take ----
// The fixture writes integers as decimal strings, pubkeys as base58, enums as {"Variant": {}}
// and structs with the Rust field names. `raw` walks the IDL as generated; `camel` is the same
// type in Program's camelCase IDL, whose field and variant names the result then uses.

function typeDef(idl, name) {
  const def = idl.types.find((t) => t.name === name);
  assert.ok(def, `type ${name} in ${idl.metadata?.name ?? "idl"}`);
  return def;
}

function toTs(value, raw, camel, rawIdl, camelIdl) {
  if (typeof raw === "string") {
    switch (raw) {
      case "bool":
        return value === true || value === "true";
      case "u8": case "i8": case "u16": case "i16": case "u32": case "i32": case "f32": case "f64":
        return Number(value);
      case "u64": case "i64": case "u128": case "i128": case "u256": case "i256":
        return new BN(value, 10);
      case "pubkey":
        return new web3.PublicKey(value);
      case "string":
        return value;
      case "bytes":
        return Buffer.from(value, "hex");
      default:
        throw new Error(`unsupported IDL type ${raw}`);
    }
  }
  if (raw.option) return value === null ? null : toTs(value, raw.option, camel.option, rawIdl, camelIdl);
  if (raw.array || raw.vec) {
    const [inner, camelInner] = raw.array ? [raw.array[0], camel.array[0]] : [raw.vec, camel.vec];
    return value.map((v) => toTs(v, inner, camelInner, rawIdl, camelIdl));
  }
  if (raw.defined) {
    const rd = typeDef(rawIdl, raw.defined.name);
    const cd = typeDef(camelIdl, camel.defined.name);
    if (rd.type.kind === "struct") {
      const out = {};
      rd.type.fields.forEach((f, i) => {
        assert.ok(f.name in value, `field ${f.name} of ${rd.name} in the fixture`);
        out[cd.type.fields[i].name] = toTs(value[f.name], f.type, cd.type.fields[i].type, rawIdl, camelIdl);
      });
      return out;
    }
    if (rd.type.kind === "enum") {
      const [variant] = Object.keys(value);
      const i = rd.type.variants.findIndex((v) => v.name === variant);
      assert.ok(i >= 0 && !rd.type.variants[i].fields, `unit variant ${variant} of ${rd.name}`);
      return { [cd.type.variants[i].name]: {} };
    }
  }
  throw new Error(`unsupported IDL type ${JSON.stringify(raw)}`);
}

// Decoded values -> the fixture's notation, for comparison.
function normalize(v) {
  if (v === null || v === undefined) return null;
  if (v instanceof web3.PublicKey) return v.toBase58();
  if (BN.isBN(v)) return v.toString(10);
  if (typeof v === "number" || typeof v === "bigint") return v.toString();
  if (typeof v === "boolean") return String(v);
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Array.from(v, (b) => String(b));
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

const hex = (b) => Buffer.from(b).toString("hex");
let checks = 0;

// ---- instructions ----

const fixture = JSON.parse(fs.readFileSync(path.join(fixtureDir, "fixture.json"), "utf8"));
const builtIxs = [];
for (const ix of fixture.instructions) {
  const { idl, coder, program } = idls[ix.idl] ?? assert.fail(`no IDL for program ${ix.idl}`);
  const label = `${ix.idl}.${ix.name}`;
  assert.equal(idl.address, ix.program_id, `${label}: program id`);
  const rawIx = idl.instructions.find((i) => i.name === ix.name) ?? assert.fail(`${label}: instruction in the IDL`);
  const index = idl.instructions.indexOf(rawIx);
  const camelIx = program.idl.instructions[index];
  const rustData = Buffer.from(ix.data, "hex");

  // 1. The data through the IDL's instruction coder.
  const rawArgs = {};
  const camelArgs = [];
  rawIx.args.forEach((a, i) => {
    assert.ok(a.name in ix.args, `${label}: argument ${a.name} in the fixture`);
    rawArgs[a.name] = toTs(ix.args[a.name], a.type, a.type, idl, idl);
    camelArgs.push(toTs(ix.args[a.name], a.type, camelIx.args[i].type, idl, program.idl));
  });
  const data = coder.instruction.encode(ix.name, rawArgs);
  assert.equal(hex(data), hex(rustData), `${label}: BorshCoder data equals the Rust builder's`);
  const decoded = coder.instruction.decode(rustData);
  assert.equal(decoded?.name, ix.name, `${label}: the Rust data decodes as this instruction`);
  checks += 2;

  // 2. The whole instruction through Program.methods, as a TypeScript client builds it.
  const named = {};
  rawIx.accounts.forEach((a, i) => {
    assert.ok(!a.accounts, `${label}: nested account groups are not supported here`);
    assert.ok(a.name in ix.accounts, `${label}: account ${a.name} in the fixture`);
    named[camelIx.accounts[i].name] = new web3.PublicKey(ix.accounts[a.name]);
  });
  assert.equal(Object.keys(ix.accounts).length, rawIx.accounts.length, `${label}: the fixture names exactly the IDL's accounts`);
  const remaining = ix.metas.slice(rawIx.accounts.length).map((m) => ({ pubkey: new web3.PublicKey(m.pubkey), isSigner: m.signer, isWritable: m.writable }));
  const built = await program.methods[camelIx.name](...camelArgs).accountsStrict(named).remainingAccounts(remaining).instruction();
  assert.equal(built.programId.toBase58(), ix.program_id, `${label}: program id`);
  assert.equal(hex(built.data), hex(rustData), `${label}: Program.methods data equals the Rust builder's`);
  const metas = built.keys.map((k) => ({ pubkey: k.pubkey.toBase58(), signer: k.isSigner, writable: k.isWritable }));
  assert.deepEqual(metas, ix.metas, `${label}: Program.methods account metas (order, signer, writable) equal the Rust builder's`);
  checks += 3;
  builtIxs.push(built);
  console.log(`ok ${label}: ${rustData.length} data bytes, ${ix.metas.length} accounts (${rawIx.accounts.length} named, ${remaining.length} remaining)`);
}

// ---- accounts ----

function assertFields(label, decoded, expected) {
  for (const [field, want] of Object.entries(expected)) {
    assert.ok(field in decoded, `${label}: field ${field} decoded`);
    assert.deepEqual(normalize(decoded[field]), want, `${label}.${field}`);
    checks += 1;
  }
}

for (const acc of fixture.accounts) {
  const { idl, coder } = idls[acc.idl] ?? assert.fail(`no IDL for program ${acc.idl}`);
  const label = `${acc.idl}.${acc.account}`;
  const def = idl.accounts.find((a) => a.name === acc.account) ?? assert.fail(`${label}: account in the IDL's accounts`);
  const typ = typeDef(idl, acc.account);
  assert.equal(typ.serialization, acc.serialization, `${label}: serialization`);
  const data = Buffer.from(acc.data, "hex");
  assert.deepEqual(Array.from(data.subarray(0, 8)), def.discriminator, `${label}: discriminator`);
  assert.equal(coder.accounts.size(acc.account), Number(acc.header_len), `${label}: IDL layout size equals the Rust size`);
  const decoded = coder.accounts.decode(acc.account, data);
  assertFields(label, decoded, acc.expect);
  let extra = "";
  if (acc.trailing) {
    // Elements that follow the account (a margin account's positions).
    const { type, expect } = acc.trailing;
    const len = Number(acc.trailing.len);
    const elements = expect.length;
    for (let i = 0; i < elements; i++) {
      const start = Number(acc.header_len) + i * len;
      const element = coder.types.decode(type, data.subarray(start, start + len));
      assertFields(`${label} ${type}[${i}]`, element, expect[i]);
    }
    extra = `, ${elements} ${type}s`;
  }
  console.log(`ok ${label}: ${data.length} bytes, ${Object.keys(acc.expect).length} fields${extra}`);
}

// ---- live: the same instructions sent over JSON-RPC, the margin account read back ----
// With `live` in the fixture (a localnet URL, the signer's secret key, a margin account and an
// output file), every instruction built above through Program.methods is signed and sent:
// all but the last with sendRawTransaction (preflight on), confirmed by polling
// getSignatureStatuses; the last through AnchorProvider.sendAndConfirm, as `.rpc()` sends,
// which confirms over the WebSocket (signatureSubscribe). Then the margin account is fetched
// through Program.account over HTTP and written, normalized, to `out`.

async function confirm(connection, signature) {
  for (let i = 0; i < 500; i++) {
    const { value } = await connection.getSignatureStatuses([signature]);
    if (value[0]) {
      assert.equal(value[0].err, null, `transaction ${signature} failed: ${JSON.stringify(value[0].err)}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`transaction ${signature} never confirmed`);
}

if (fixture.live) {
  const live = fixture.live;
  const signer = web3.Keypair.fromSecretKey(Uint8Array.from(live.signer.map(Number)));
  const wsEndpoint = live.url.replace(/^http/, "ws");
  const connection = new web3.Connection(live.url, { commitment: "confirmed", wsEndpoint });
  const provider = new AnchorProvider(connection, new anchor.Wallet(signer), { commitment: "confirmed" });
  assert.equal(await connection.getVersion().then((v) => typeof v["solana-core"]), "string", "getVersion over HTTP");
  for (const [i, ix] of builtIxs.entries()) {
    let signature;
    if (i + 1 < builtIxs.length) {
      const { blockhash } = await connection.getLatestBlockhash();
      const tx = new web3.Transaction({ feePayer: signer.publicKey, recentBlockhash: blockhash }).add(ix);
      tx.sign(signer);
      signature = await connection.sendRawTransaction(tx.serialize());
      await confirm(connection, signature);
    } else {
      signature = await provider.sendAndConfirm(new web3.Transaction().add(ix));
      await confirm(connection, signature);
    }
    console.log(`ok live ${fixture.instructions[i].idl}.${fixture.instructions[i].name}: ${signature}`);
    checks += 1;
  }
  const perpetual = new Program(idls.perpetual.idl, provider);
  const account = await perpetual.account.marginAccount.fetch(new web3.PublicKey(live.margin_account));
  fs.writeFileSync(live.out, JSON.stringify(normalize(account)));
  console.log(`ok live: margin account ${live.margin_account} fetched over HTTP`);
  checks += 1;
}

console.log(`idl check: ${Object.keys(idls).length} IDLs, ${fixture.instructions.length} instructions, ${fixture.accounts.length} accounts, ${checks} assertions passed`);
