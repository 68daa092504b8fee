import destination from './destinations/criteo-audiences'

export default destination
export { destination }
