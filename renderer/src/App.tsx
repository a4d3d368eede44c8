/** The application shell. The planning wizard arrives with the UI issues. */
export function App() {
  return (
    <main>
      <h1>uStart</h1>
      <p>Site planning and installation for the UhuruTec open cloud platform.</p>
    </main>
  );
}
