//! A scripted run on the embedded chain: listing, deposits, a trade, funding over eight
//! hours, a price move, a withdrawal, and the invariants read back from the chain.
use anchor_lang::prelude::Pubkey;
use perpetual::instructions::{CreateMarketArgs, InitializeExchangeArgs, SettleFillsArgs};
use perpetual::sdk;
use perpetual::state::{parse_margin_account, Exchange, Market};
use perpetual::{Fill, OracleKind, Side};
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_signer::Signer;
use tracing::info;

use crate::embedded::{ChainError, EmbeddedChain};

const USDC: u64 = 1_000_000;

struct Trader {
    wallet: Keypair,
    tokens: Pubkey,
    margin: Pubkey,
}

pub struct DemoReport {
    pub lines: Vec<String>,
    pub invariants_ok: bool,
}

fn zero_copy<T: bytemuck::Pod>(data: &[u8]) -> T {
    *bytemuck::from_bytes(&data[8..8 + std::mem::size_of::<T>()])
}

pub async fn run() -> Result<DemoReport, ChainError> {
    let mut chain = EmbeddedChain::start().await;
    let payer = chain.payer();
    let admin = Keypair::new();
    let mint_authority = Keypair::new();
    let mint = Keypair::new();
    let mut lines = vec![];

    // Collateral mint and exchange.
    let space = spl_token_interface::state::Mint::LEN;
    let lamports = chain.rent_exempt(space).await?;
    chain
        .send(
            &[
                solana_system_interface::instruction::create_account(&payer.pubkey(), &mint.pubkey(), lamports, space as u64, &spl_token_interface::ID),
                spl_token_interface::instruction::initialize_mint2(&spl_token_interface::ID, &mint.pubkey(), &mint_authority.pubkey(), None, 6).expect("mint ix"),
                solana_system_interface::instruction::transfer(&payer.pubkey(), &admin.pubkey(), 10_000_000_000),
            ],
            &[&mint],
        )
        .await?;
    let exchange = sdk::exchange_address(&mint.pubkey());
    let args = InitializeExchangeArgs { funding_authority: admin.pubkey(), risk_authority: admin.pubkey(), pause_guardian: admin.pubkey(), deleverage_authority: admin.pubkey() };
    chain.send(&[sdk::initialize_exchange(&admin.pubkey(), &mint.pubkey(), args)], &[&admin]).await?;
    chain.send(&[sdk::approve_trader(&admin.pubkey(), &exchange, &test_trader::ID)], &[&admin]).await?;
    info!(%exchange, "exchange initialised");

    // SOL-PERP on the settable oracle: $150.00, lots of 0.01 SOL.
    let symbol = sdk::symbol("SOL-PERP");
    chain.send(&[sdk::create_price_oracle(&admin.pubkey(), symbol, -2)], &[&admin]).await?;
    let oracle = sdk::price_oracle_address(&admin.pubkey(), &symbol);
    chain.send(&[sdk::set_oracle_price(&admin.pubkey(), &oracle, 15_000, 5)], &[&admin]).await?;
    let market_args = CreateMarketArgs {
        symbol,
        oracle_kind: OracleKind::SetPrice,
        base_decimals: 9,
        base_lot_size: 10_000_000,
        oracle_max_age_secs: 120,
        oracle_max_conf_bps: 100,
        price_band_bps: 500,
        init_margin_long_bps: 1_000,
        init_margin_short_bps: 1_000,
        maker_fee_ppm: -100,
        taker_fee_ppm: 500,
        max_funding_rate_ppbh: 1_000_000,
        max_funding_rate_change_ppbh: 500_000,
        funding_window_secs: 3_600,
    };
    chain.send(&[sdk::create_market(&admin.pubkey(), &exchange, &oracle, market_args)], &[&admin]).await?;
    let market = sdk::market_address(&exchange, &symbol);
    lines.push("listed SOL-PERP at $150.00 (lot 0.01 SOL = $1.50)".into());

    // Two traders deposit 10,000 USDC each.
    let mut traders = vec![];
    for _ in 0..2 {
        let wallet = Keypair::new();
        let tokens = Keypair::new();
        let space = spl_token_interface::state::Account::LEN;
        let lamports = chain.rent_exempt(space).await?;
        chain
            .send(
                &[
                    solana_system_interface::instruction::transfer(&payer.pubkey(), &wallet.pubkey(), 1_000_000_000),
                    solana_system_interface::instruction::create_account(&payer.pubkey(), &tokens.pubkey(), lamports, space as u64, &spl_token_interface::ID),
                    spl_token_interface::instruction::initialize_account3(&spl_token_interface::ID, &tokens.pubkey(), &mint.pubkey(), &wallet.pubkey()).expect("ix"),
                    spl_token_interface::instruction::mint_to(&spl_token_interface::ID, &mint.pubkey(), &tokens.pubkey(), &mint_authority.pubkey(), &[], 10_000 * USDC).expect("ix"),
                ],
                &[&tokens, &mint_authority],
            )
            .await?;
        chain.send(&[sdk::create_margin_account(&wallet.pubkey(), &exchange, 0, 16)], &[&wallet]).await?;
        let margin = sdk::margin_account_address(&exchange, &wallet.pubkey(), 0);
        chain.send(&[sdk::deposit(&wallet.pubkey(), &exchange, &mint.pubkey(), &margin, &tokens.pubkey(), 10_000 * USDC)], &[&wallet]).await?;
        traders.push(Trader { wallet, tokens: tokens.pubkey(), margin });
    }
    lines.push("alice and bob deposited 10,000 USDC each".into());

    // Alice rests 100 lots of asks (a reservation), Bob lifts them at $150.00.
    let (alice, bob) = (&traders[0], &traders[1]);
    let relay = |margin: Pubkey, user: Pubkey| test_trader::accounts::Relay {
        perpetual_program: perpetual::ID,
        exchange,
        approval: sdk::approval_address(&exchange, &test_trader::ID),
        trader_authority: test_trader::trader_authority().0,
        market,
        oracle,
        margin_account: margin,
        user,
    };
    let reserve = instruction(relay(alice.margin, alice.wallet.pubkey()), test_trader::instruction::Reserve { bid_delta: 0, ask_delta: 100 });
    chain.send(&[reserve], &[&alice.wallet]).await?;
    let fill = Fill { maker_index: 0, taker_side: Side::Bid, base_lots: 100, price_per_lot: 1_500_000 };
    let args = SettleFillsArgs { maker_count: 1, fills: vec![fill], releases: vec![], taker_bid_delta: 0, taker_ask_delta: 0, liquidation: false };
    let mut settle = instruction(relay(bob.margin, bob.wallet.pubkey()), test_trader::instruction::Settle { args });
    settle.accounts.push(anchor_lang::prelude::AccountMeta::new(alice.margin, false));
    chain.send(&[settle], &[&bob.wallet]).await?;
    lines.push("bob bought 1 SOL (100 lots) from alice at $150.00".into());

    // Funding at +0.01%/h for eight hours: longs pay shorts.
    chain.send(&[sdk::set_funding_rate(&admin.pubkey(), &exchange, &market, &oracle, 100_000)], &[&admin]).await?;
    let before: Vec<i64> = collateral(&mut chain, &traders).await?;
    for _ in 0..8 {
        chain.warp(3_600).await?;
        chain.send(&[sdk::set_oracle_price(&admin.pubkey(), &oracle, 15_000, 5)], &[&admin]).await?;
        chain.send(&[sdk::update_funding(&market, &oracle)], &[]).await?;
    }
    for t in &traders {
        chain.send(&[sdk::settle_funding(&market, &oracle, &t.margin)], &[]).await?;
    }
    let after = collateral(&mut chain, &traders).await?;
    lines.push(format!(
        "8h of funding at +0.01%/h: bob (long) {:+.6} USDC, alice (short) {:+.6} USDC",
        (after[1] - before[1]) as f64 / USDC as f64,
        (after[0] - before[0]) as f64 / USDC as f64
    ));

    // SOL rises to $165: bob withdraws 100 USDC of his gain.
    chain.send(&[sdk::set_oracle_price(&admin.pubkey(), &oracle, 16_500, 5)], &[&admin]).await?;
    let health = vec![anchor_lang::prelude::AccountMeta::new_readonly(market, false), anchor_lang::prelude::AccountMeta::new_readonly(oracle, false)];
    let withdraw = sdk::withdraw(&bob.wallet.pubkey(), &exchange, &mint.pubkey(), &bob.margin, &bob.tokens, 100 * USDC, health);
    chain.send(&[withdraw], &[&bob.wallet]).await?;
    lines.push("SOL at $165.00: bob withdrew 100 USDC against his margin".into());

    // Invariants from the chain's own bytes.
    let vault_data = chain.account_data(&sdk::vault_address(&exchange)).await?;
    let vault = spl_token_interface::state::Account::unpack(&vault_data).map(|a| a.amount).unwrap_or_default();
    let ex: Exchange = zero_copy(&chain.account_data(&exchange).await?);
    let m: Market = zero_copy(&chain.account_data(&market).await?);
    let sum_collateral: i64 = collateral(&mut chain, &traders).await?.iter().sum();
    let mut sum_positions = 0i64;
    for t in &traders {
        let data = chain.account_data(&t.margin).await?;
        if let Ok((_, positions)) = parse_margin_account(&data) {
            sum_positions += positions.iter().filter(|p| p.market == market).map(|p| p.base_lots).sum::<i64>();
        }
    }
    let liabilities = sum_collateral as i128
        + ex.insurance_fund as i128
        + ex.fee_balance as i128
        + m.fees_accrued as i128
        + m.funding_pool as i128
        + m.listing_deposit as i128
        + m.insurance_accrued as i128;
    let invariants_ok = vault as i128 == liabilities && sum_positions == 0;
    lines.push(format!(
        "vault {vault} = collateral {sum_collateral} + fees {} + funding pool {} + insurance {}: {}",
        m.fees_accrued,
        m.funding_pool,
        ex.insurance_fund,
        if vault as i128 == liabilities { "holds" } else { "BROKEN" }
    ));
    lines.push(format!("positions sum to {sum_positions}; {} transactions, {} failed", chain.transactions, chain.failed_transactions));
    Ok(DemoReport { lines, invariants_ok })
}

fn instruction(accounts: impl anchor_lang::ToAccountMetas, data: impl anchor_lang::InstructionData) -> anchor_lang::solana_program::instruction::Instruction {
    anchor_lang::solana_program::instruction::Instruction { program_id: test_trader::ID, accounts: accounts.to_account_metas(None), data: data.data() }
}

async fn collateral(chain: &mut EmbeddedChain, traders: &[Trader]) -> Result<Vec<i64>, ChainError> {
    let mut out = vec![];
    for t in traders {
        let data = chain.account_data(&t.margin).await?;
        out.push(parse_margin_account(&data).map(|(h, _)| h.collateral).unwrap_or_default());
    }
    Ok(out)
}
