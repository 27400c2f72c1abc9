import Search from "./Search.jsx";

export default function Page() {
    return (
        <main>
            <h1>vecstore + Next.js</h1>
            <Search />
        </main>
    );
}
