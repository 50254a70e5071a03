//! Exchange administration: authorities, two-step admin change, pausing.
use integration_tests::adversarial::assert_refused;
use integration_tests::*;
use perpetual::error::PerpError;
use perpetual::sdk;
use perpetual::sdk::SetAuthoritiesArgs;
use perpetual::{MarketStatus, Side};
use solana_keypair::Keypair;
use solana_signer::Signer;

#[tokio::test]
async fn exchange_is_initialised_with_vault_and_authorities() {
    let mut env = TestEnv::new().await;
    let e = env.exchange_state().await;
    assert_eq!(e.admin, env.admin.pubkey());
    assert_eq!(e.collateral_mint, env.mint);
    assert_eq!(e.vault, env.vault);
    assert_eq!(e.funding_authority, env.funding_authority.pubkey());
    assert_eq!(e.risk_authority, env.risk_authority.pubkey());
    assert_eq!(e.pause_guardian, env.guardian.pubkey());
    assert_eq!(e.collateral_decimals, COLLATERAL_DECIMALS);
    assert_eq!((e.insurance_fund, e.fee_balance), (0, 0));
    // The vault is a token account of the mint owned by the exchange PDA.
    let vault = env.account_data(&env.vault.clone()).await;
    let state = <spl_token_interface::state::Account as solana_program_pack::Pack>::unpack(&vault).unwrap();
    assert_eq!((state.mint, state.owner), (env.mint, env.exchange));
}

#[tokio::test]
async fn admin_changes_in_two_steps() {
    let mut env = TestEnv::new().await;
    let admin = env.admin.insecure_clone();
    let next = Keypair::new();
    let impostor = Keypair::new();
    env.process(&[sdk::propose_admin(&admin.pubkey(), &env.exchange, next.pubkey())], &[&admin]).await.unwrap();
    assert_eq!(env.exchange_state().await.admin, admin.pubkey(), "proposal alone changes nothing");
    let ix = sdk::accept_admin(&impostor.pubkey(), &env.exchange);
    assert_refused(&mut env, &[ix], &[&impostor], code(PerpError::NotPendingAdmin), "impostor accepts").await;
    env.process(&[sdk::accept_admin(&next.pubkey(), &env.exchange)], &[&next]).await.unwrap();
    let e = env.exchange_state().await;
    assert_eq!((e.admin, e.pending_admin), (next.pubkey(), Default::default()));
    // The old admin is out.
    let ix = sdk::propose_admin(&admin.pubkey(), &env.exchange, admin.pubkey());
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::NotAdmin), "old admin").await;
}

#[tokio::test]
async fn authorities_are_set_by_the_admin_only() {
    let mut env = TestEnv::new().await;
    let admin = env.admin.insecure_clone();
    let new_risk = Keypair::new();
    let args = SetAuthoritiesArgs {
        funding_authority: None,
        risk_authority: Some(new_risk.pubkey()),
        pause_guardian: None,
        deleverage_authority: None,
    };
    env.process(&[sdk::set_authorities(&admin.pubkey(), &env.exchange, args)], &[&admin]).await.unwrap();
    let e = env.exchange_state().await;
    assert_eq!(e.risk_authority, new_risk.pubkey());
    assert_eq!(e.funding_authority, env.funding_authority.pubkey(), "None keeps a field");
    let stranger = Keypair::new();
    let ix = sdk::set_authorities(&stranger.pubkey(), &env.exchange, args);
    assert_refused(&mut env, &[ix], &[&stranger], code(PerpError::NotAdmin), "stranger").await;
}

#[tokio::test]
async fn guardian_pauses_and_only_admin_unpauses() {
    let mut env = TestEnv::new().await;
    let m = env.create_market("SOL", 1_000_000).await;
    let taker = env.funded_user(100 * ONE_USDC).await;
    let maker = env.funded_user(100 * ONE_USDC).await;
    let guardian = env.guardian.insecure_clone();
    let admin = env.admin.insecure_clone();
    env.process(&[sdk::set_exchange_paused(&guardian.pubkey(), &env.exchange, true)], &[&guardian]).await.unwrap();

    // Opening risk stops; deposits and withdrawals go on.
    let ix = env.reserve_ix(&maker, &m, 0, 5).await;
    assert_refused(&mut env, &[ix], &[&maker.owner], code(PerpError::ExchangePaused), "reserve while paused").await;
    env.withdraw(&taker, ONE_USDC).await.expect("withdraw while paused");
    env.deposit(&taker, ONE_USDC).await.expect("deposit while paused");

    let ix = sdk::set_exchange_paused(&guardian.pubkey(), &env.exchange, false);
    assert_refused(&mut env, &[ix], &[&guardian], code(PerpError::NotAdmin), "guardian unpauses").await;
    env.process(&[sdk::set_exchange_paused(&admin.pubkey(), &env.exchange, false)], &[&admin]).await.unwrap();
    env.trade(&taker, &maker, &m, Side::Bid, 5, 1_000_000).await.expect("trading resumes");

    // Per market: the guardian may pause but not reactivate.
    env.process(
        &[sdk::set_market_status(&guardian.pubkey(), &env.exchange, &m.market, MarketStatus::Paused)],
        &[&guardian],
    )
    .await
    .unwrap();
    let ix = sdk::set_market_status(&guardian.pubkey(), &env.exchange, &m.market, MarketStatus::Active);
    assert_refused(&mut env, &[ix], &[&guardian], code(PerpError::NotAdmin), "guardian reactivates").await;
    // Cancelling a reservation still works in a paused market.
    env.reserve(&maker, &m, 0, 0).await.unwrap();
    let ix = sdk::set_market_status(&admin.pubkey(), &env.exchange, &m.market, MarketStatus::FinalSettlement);
    assert_refused(&mut env, &[ix], &[&admin], code(PerpError::ParameterOutOfRange), "final settlement by status")
        .await;
    invariants::check(&mut env).await;
}

/// No squatting: only `perpetual`'s upgrade authority (its ProgramData account) creates an
/// exchange, so nobody can occupy a mint's exchange address before the deployment does. A
/// stranger signing as the authority, or passing the ProgramData of a program of their own
/// naming them, is refused and the address stays empty; an immutable program creates none;
/// the upgrade authority creates it with whichever admin it names.
#[tokio::test]
async fn a_stranger_cannot_occupy_a_mints_exchange_address() {
    use anchor_lang::error::ErrorCode as AnchorError;
    use anchor_lang::prelude::Pubkey;
    use client::harness;
    let mut env = TestEnv::new().await;
    let mint = env.create_mint().await;
    let exchange = sdk::exchange_address(&mint);
    let stranger = Keypair::new();
    env.airdrop(&stranger.pubkey(), 10_000_000_000).await;
    let args = sdk::InitializeExchangeArgs {
        funding_authority: stranger.pubkey(),
        risk_authority: stranger.pubkey(),
        pause_guardian: stranger.pubkey(),
        deleverage_authority: stranger.pubkey(),
    };

    // Signing as the upgrade authority.
    let ix = sdk::initialize_exchange(&stranger.pubkey(), &stranger.pubkey(), &mint, args);
    assert_refused(&mut env, &[ix], &[&stranger], code(PerpError::NotUpgradeAuthority), "a stranger").await;
    // With the ProgramData of the stranger's own program, which names them.
    let (theirs, account) = harness::program_data_account(&Pubkey::new_unique(), Some(stranger.pubkey()));
    env.ctx.set_account(&theirs, &account.into());
    let mut ix = sdk::initialize_exchange(&stranger.pubkey(), &stranger.pubkey(), &mint, args);
    ix.accounts[1].pubkey = theirs;
    let seeds = anchor_code(AnchorError::ConstraintSeeds);
    assert_refused(&mut env, &[ix], &[&stranger], seeds, "another program's ProgramData").await;
    assert!(env.account(&exchange).await.is_none(), "the address stays empty");

    // The deployer creates it, naming another admin (who signs and pays the rent).
    let deployer = harness::deployer();
    let admin = Keypair::new();
    env.airdrop(&admin.pubkey(), 10_000_000_000).await;
    let (program_data, deployed) = harness::program_data_account(&perpetual::ID, Some(deployer.pubkey()));

    // Once the program is immutable (no upgrade authority), nobody creates an exchange.
    let (_, immutable) = harness::program_data_account(&perpetual::ID, None);
    env.ctx.set_account(&program_data, &immutable.into());
    let ix = sdk::initialize_exchange(&deployer.pubkey(), &admin.pubkey(), &mint, args);
    assert_refused(&mut env, &[ix], &[&admin, &deployer], code(PerpError::NotUpgradeAuthority), "immutable").await;
    env.ctx.set_account(&program_data, &deployed.into());

    let ix = sdk::initialize_exchange(&deployer.pubkey(), &admin.pubkey(), &mint, args);
    env.process(&[ix], &[&admin, &deployer]).await.expect("the upgrade authority creates the exchange");
    let e: perpetual::state::Exchange = load_zero_copy(&env.account_data(&exchange).await);
    assert_eq!((e.admin, e.collateral_mint), (admin.pubkey(), mint));
}
