use keeper::sim::world::World;
#[tokio::test]
async fn timing() {
    let t = std::time::Instant::now();
    let _w = World::build(7).await.unwrap();
    eprintln!("build took {:?}", t.elapsed());
}
